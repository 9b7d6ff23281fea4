import type { Role } from '../../auth/roles.js';

export interface Plan {
  code: string;
  name: string;
  role: Role;
  /** Decimal string, like DRF's DecimalField; null where billing sets it. */
  price: string | null;
  currency: string;
  billingPeriod: 'year' | 'month';
  /** The profile's account_type while this plan is active. */
  accountType: string;
}

export const PLANS: Record<string, Plan> = {
  background_jobs: {
    code: 'background_jobs',
    name: 'Production Assets Pro',
    role: 'background',
    price: '300.00',
    currency: 'USD',
    billingPeriod: 'year',
    accountType: 'back_ground_jobs',
  },
  premium: {
    code: 'premium',
    name: 'Premium',
    role: 'talent',
    price: null,
    currency: 'USD',
    billingPeriod: 'year',
    accountType: 'premium',
  },
  platinum: {
    code: 'platinum',
    name: 'Platinum',
    role: 'talent',
    price: null,
    currency: 'USD',
    billingPeriod: 'year',
    accountType: 'platinum',
  },
};

export function findPlan(code: string): Plan | undefined {
  return Object.hasOwn(PLANS, code) ? PLANS[code] : undefined;
}
