import { ApiError } from '../../errors.js';
import type { Role } from '../../auth/roles.js';
import { findPlan, PLANS } from './plans.js';
import type { SubscriptionRecord, SubscriptionRepository } from './repository.js';

export interface SubscriptionView {
  id: number;
  plan: string;
  plan_name: string;
  status: string;
  start_date: string;
  end_date: string;
  price: string | null;
  currency: string;
  billing_period: string;
  days_remaining: number;
}

export interface SubscriptionStatus {
  has_subscription: boolean;
  can_access_features: boolean;
  message: string;
  subscription: SubscriptionView | null;
}

export interface Restrictions {
  restricted: boolean;
  subscription_required: boolean;
  message: string;
  restrictions: string[];
}

export interface BackgroundRestrictions extends Restrictions {
  can_share_items: boolean;
  can_rent_or_sell: boolean;
  can_upload_media: boolean;
  can_create_listings: boolean;
  can_respond_to_job_requests: boolean;
}

const BACKGROUND_SUBSCRIPTION_REQUIRED =
  'Background users must have an active subscription to access features. Please subscribe to the Production Assets Pro plan.';

const BACKGROUND_RESTRICTIONS = [
  'Cannot share items',
  'Cannot rent or sell items',
  'Cannot upload media',
  'Cannot create listings',
  'Cannot respond to job requests',
];

const DAY_MS = 24 * 60 * 60 * 1000;

function viewOf(subscription: SubscriptionRecord, now: Date): SubscriptionView {
  const plan = findPlan(subscription.plan);
  return {
    id: subscription.id,
    plan: subscription.plan,
    plan_name: plan?.name ?? subscription.plan,
    status: subscription.status,
    start_date: subscription.startDate,
    end_date: subscription.endDate,
    price: plan?.price ?? null,
    currency: plan?.currency ?? 'USD',
    billing_period: plan?.billingPeriod ?? 'year',
    days_remaining: Math.max(0, Math.ceil((Date.parse(subscription.endDate) - now.getTime()) / DAY_MS)),
  };
}

/** A subscription only counts for the role its plan was made for. */
function relevant(subscription: SubscriptionRecord | undefined, role: Role): SubscriptionRecord | undefined {
  return subscription && findPlan(subscription.plan)?.role === role ? subscription : undefined;
}

export function accountTypeFor(role: Role, subscription: SubscriptionRecord | undefined): string {
  const active = relevant(subscription, role);
  return active ? (findPlan(active.plan)?.accountType ?? 'free') : 'free';
}

export function subscriptionStatusFor(role: Role, subscription: SubscriptionRecord | undefined, now: Date): SubscriptionStatus {
  const active = relevant(subscription, role);
  if (role === 'background') {
    return active
      ? { has_subscription: true, can_access_features: true, message: 'Active subscription', subscription: viewOf(active, now) }
      : { has_subscription: false, can_access_features: false, message: BACKGROUND_SUBSCRIPTION_REQUIRED, subscription: null };
  }
  return active
    ? {
        has_subscription: true,
        can_access_features: true,
        message: `Active ${findPlan(active.plan)?.name ?? active.plan} subscription`,
        subscription: viewOf(active, now),
      }
    : {
        has_subscription: false,
        can_access_features: true,
        message: 'Free account. Upgrade to Premium or Platinum for more visibility.',
        subscription: null,
      };
}

export function backgroundRestrictionsFor(subscription: SubscriptionRecord | undefined): BackgroundRestrictions {
  const allowed = relevant(subscription, 'background') !== undefined;
  return {
    restricted: !allowed,
    subscription_required: !allowed,
    message: allowed ? 'Full access with an active Production Assets Pro subscription.' : BACKGROUND_SUBSCRIPTION_REQUIRED,
    restrictions: allowed ? [] : [...BACKGROUND_RESTRICTIONS],
    can_share_items: allowed,
    can_rent_or_sell: allowed,
    can_upload_media: allowed,
    can_create_listings: allowed,
    can_respond_to_job_requests: allowed,
  };
}

export function talentRestrictions(): Restrictions {
  return {
    restricted: false,
    subscription_required: false,
    message: 'Talent accounts have full access to their profile.',
    restrictions: [],
  };
}

function addMonths(date: Date, months: number): Date {
  const result = new Date(date.getTime());
  result.setUTCMonth(result.getUTCMonth() + months);
  return result;
}

/** Admin operations (CLI); the HTTP API only reads subscriptions. */
export class SubscriptionService {
  constructor(
    private readonly repository: SubscriptionRepository,
    private readonly clock: () => Date,
  ) {}

  findActive(userId: number): Promise<SubscriptionRecord | undefined> {
    return this.repository.findActive(userId, this.clock().toISOString());
  }

  async grant(user: { id: number; isTalent: boolean; isBackground: boolean }, planCode: string, months: number) {
    const plan = findPlan(planCode);
    if (!plan) {
      throw new ApiError(400, { plan: [`Unknown plan "${planCode}". Plans: ${Object.keys(PLANS).join(', ')}.`] });
    }
    const hasRole = plan.role === 'talent' ? user.isTalent : user.isBackground;
    if (!hasRole) {
      throw new ApiError(400, { plan: [`Plan "${planCode}" is for ${plan.role} users; this user is not one.`] });
    }
    if (!Number.isInteger(months) || months < 1 || months > 120) {
      throw new ApiError(400, { months: ['Months must be a whole number from 1 to 120.'] });
    }
    const start = this.clock();
    return this.repository.replaceActive(user.id, plan.code, start.toISOString(), addMonths(start, months).toISOString());
  }

  revoke(userId: number): Promise<number> {
    return this.repository.cancelActive(userId, this.clock().toISOString());
  }
}
