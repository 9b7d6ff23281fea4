import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AccountGuards } from '../accounts/guards.js';
import { ApiError } from '../../errors.js';
import { DetailError } from '../common.js';
import { PLANS, type Plan } from '../subscriptions/plans.js';
import type { SubscriptionRepository } from '../subscriptions/repository.js';

/** Stable integer ids for the plans, as the live service's SubscriptionPlan rows have. */
const PLAN_IDS: Record<string, number> = { background_jobs: 1, premium: 2, platinum: 3 };

const Money = Type.Union([Type.String(), Type.Null()]);
const PlanView = Type.Object({
  id: Type.Integer(),
  name: Type.String(),
  name_ar: Type.Union([Type.String(), Type.Null()]),
  description: Type.String(),
  description_ar: Type.Union([Type.String(), Type.Null()]),
  price: Money,
  currency: Type.String(),
  features: Type.Array(Type.String()),
  features_ar: Type.Array(Type.String()),
  duration_months: Type.Integer(),
  stripe_price_id: Type.Null(),
  monthly_equivalent: Money,
  is_active: Type.Boolean(),
});
const SubscriptionView = Type.Object({
  id: Type.Integer(),
  plan: Type.Union([Type.Integer(), Type.Null()]),
  plan_name: Type.String(),
  plan_name_ar: Type.Null(),
  plan_price: Money,
  status: Type.String(),
  status_ar: Type.Null(),
  start_date: Type.String(),
  end_date: Type.String(),
  is_active: Type.Boolean(),
  current_period_end: Type.Null(),
});

function planView(plan: Plan) {
  const months = plan.billingPeriod === 'year' ? 12 : 1;
  return {
    id: PLAN_IDS[plan.code] ?? 0,
    name: plan.code,
    name_ar: null,
    description: plan.name,
    description_ar: null,
    price: plan.price,
    currency: plan.currency,
    features: [],
    features_ar: [],
    duration_months: months,
    stripe_price_id: null,
    monthly_equivalent: plan.price === null ? null : (Number(plan.price) / months).toFixed(2),
    is_active: true,
  };
}

/** Payments happen elsewhere: castfolio keeps the subscriptions an operator grants (cli subscription grant). */
const notHere = () =>
  new ApiError(404, {
    detail:
      'Online payments are not handled by this server: subscriptions are granted by the platform operator. Contact support to subscribe.',
    code: 'payments_not_available',
  });

/**
 * The read-only part of the live service's payments API, from castfolio's own subscription data:
 * the plans a user may hold and their subscriptions. Checkout, payment intents and webhooks are
 * not served: they answer a DRF-shaped 404 that says so.
 */
export const paymentRoutes: FastifyPluginAsyncTypebox<{
  guards: AccountGuards;
  subscriptions: SubscriptionRepository;
  clock: () => Date;
}> = async (app, { guards, subscriptions, clock }) => {
  app.get(
    '/api/payments/plans/',
    {
      onRequest: guards.authenticate,
      schema: {
        tags: ['payments'],
        summary: "The subscription plans of the user's role",
        response: { 200: Type.Array(PlanView), 401: DetailError },
      },
    },
    async (request) => {
      const user = guards.user(request);
      return Object.values(PLANS)
        .filter((plan) => (plan.role === 'talent' ? user.isTalent : user.isBackground))
        .map(planView);
    },
  );

  app.get(
    '/api/payments/subscriptions/',
    {
      onRequest: guards.authenticate,
      schema: {
        tags: ['payments'],
        summary: "The user's subscriptions, newest first",
        response: { 200: Type.Array(SubscriptionView), 401: DetailError },
      },
    },
    async (request) => {
      const now = clock().toISOString();
      return (await subscriptions.listForUser(guards.user(request).id)).map((s) => ({
        id: s.id,
        plan: PLAN_IDS[s.plan] ?? null,
        plan_name: s.plan,
        plan_name_ar: null,
        plan_price: PLANS[s.plan]?.price ?? null,
        status: s.status,
        status_ar: null,
        start_date: s.startDate,
        end_date: s.endDate,
        is_active: s.status === 'active' && s.endDate > now,
        current_period_end: null,
      }));
    },
  );

  // The live service's payment endpoints the web app calls: each says why it is not served.
  const notServed = [
    ['POST', '/api/payments/create-checkout-session/'],
    ['POST', '/api/payments/create-payment-intent/'],
    ['GET', '/api/payments/subscriptions/:id/status/'],
    ['GET', '/api/payments/pricing/'],
    ['POST', '/api/payments/webhook/'],
  ] as const;
  for (const [method, url] of notServed) {
    app.route({
      method,
      url,
      schema: {
        tags: ['payments'],
        summary: 'Not served: payments happen outside castfolio (404 with the reason)',
        response: { 404: DetailError },
      },
      handler: async () => {
        throw notHere();
      },
    });
  }
};
