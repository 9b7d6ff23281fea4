/** Profile scores: pure functions of what a profile holds, so they are unit-tested without a database. */
import { ITEM_TYPE_LABELS, ITEM_TYPES, type ItemType } from '../items/catalogue.js';

export interface BackgroundScoreInput {
  accountType: string;
  country: string | null;
  dateOfBirth: string | null;
  gender: string | null;
  /** The distinct item types the user offers, e.g. ['prop', 'vehicle']. */
  itemTypes: readonly string[];
  /** Total number of items. */
  itemCount: number;
}

export interface BackgroundScore {
  total: number;
  account_tier: number;
  profile_completion: number;
  item_diversity: number;
  item_quantity: number;
  details: {
    account_tier: string;
    profile_completion: string;
    item_diversity: string;
    item_quantity: string;
  };
  improvement_tips: string[];
}

const ITEM_QUANTITY_TIERS: readonly { min: number; points: number }[] = [
  { min: 21, points: 25 },
  { min: 11, points: 20 },
  { min: 6, points: 15 },
  { min: 1, points: 10 },
];
const ITEM_TYPE_POINTS = 5;
const ITEM_TYPE_COUNT = ITEM_TYPES.length;

export function itemQuantityPoints(count: number): number {
  return ITEM_QUANTITY_TIERS.find((tier) => count >= tier.min)?.points ?? 0;
}

function nextQuantityTier(count: number): { min: number; points: number } | undefined {
  return [...ITEM_QUANTITY_TIERS].reverse().find((tier) => count < tier.min);
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

export function backgroundScore(input: BackgroundScoreInput): BackgroundScore {
  const subscribed = input.accountType === 'back_ground_jobs';
  const accountTier = subscribed ? 25 : 0;

  const missing = [
    input.country ? undefined : 'country',
    input.dateOfBirth ? undefined : 'date of birth',
    input.gender ? undefined : 'gender',
  ].filter((m): m is string => m !== undefined);
  const profileCompletion = missing.length === 0 ? 15 : 0;

  const offered = ITEM_TYPES.filter((type) => input.itemTypes.includes(type));
  const missingTypes = ITEM_TYPES.filter((type) => !offered.includes(type));
  const itemTypes = offered.length;
  const itemDiversity = itemTypes * ITEM_TYPE_POINTS;
  const labels = (types: readonly ItemType[]) => types.map((type) => ITEM_TYPE_LABELS[type]).join(', ');
  const itemQuantity = itemQuantityPoints(input.itemCount);
  const next = nextQuantityTier(input.itemCount);

  const tips: string[] = [];
  if (!subscribed) tips.push('Subscribe to the Production Assets Pro plan to earn 25 points and unlock listings.');
  if (missing.length > 0) tips.push(`Add your ${missing.join(', ')} to complete your profile (+15 points).`);
  if (missingTypes.length > 0) {
    tips.push(`Offer ${labels(missingTypes)} for +${ITEM_TYPE_POINTS} points per new type.`);
  }
  if (next) {
    tips.push(`Reach ${plural(next.min, 'item')} to raise your item quantity score to ${next.points} points.`);
  }

  return {
    total: Math.min(100, accountTier + profileCompletion + itemDiversity + itemQuantity),
    account_tier: accountTier,
    profile_completion: profileCompletion,
    item_diversity: itemDiversity,
    item_quantity: itemQuantity,
    details: {
      account_tier: subscribed ? 'Production Assets Pro subscription: 25 of 25 points.' : 'No active subscription: 0 of 25 points.',
      profile_completion:
        missing.length === 0
          ? 'Country, date of birth and gender are set: 15 of 15 points.'
          : `Profile incomplete (missing ${missing.join(', ')}): 0 of 15 points.`,
      item_diversity: `${plural(itemTypes, 'item type')} offered${itemTypes > 0 ? ` (${labels(offered)})` : ''}: ${itemDiversity} of ${ITEM_TYPE_COUNT * ITEM_TYPE_POINTS} points (${ITEM_TYPE_POINTS} per type).`,
      item_quantity: `${plural(input.itemCount, 'item')} listed: ${itemQuantity} of 25 points.`,
    },
    improvement_tips: tips,
  };
}

export interface TalentScoreInput {
  accountType: string;
  emailVerified: boolean;
  aboutyou: string | null;
  hasPicture: boolean;
  country: string | null;
  dateOfBirth: string | null;
}

export interface TalentScore {
  total: number;
  account_tier: number;
  verification: number;
  profile_completion: number;
  details: {
    account_tier: string;
    verification: string;
    profile_completion: string;
  };
  improvement_tips: string[];
}

const TALENT_TIERS: Record<string, { points: number; label: string }> = {
  free: { points: 5, label: 'Free' },
  premium: { points: 15, label: 'Premium' },
  platinum: { points: 25, label: 'Platinum' },
};

export const TALENT_COMPLETION_MAX = 15;
const ABOUT_MIN_LENGTH = 50;

/** The most points each component can give: stated in the OpenAPI document, drawn as bars by the page. */
export const SCORE_MAXIMUMS = {
  background: { account_tier: 25, profile_completion: 15, item_diversity: ITEM_TYPE_COUNT * ITEM_TYPE_POINTS, item_quantity: 25 },
  talent: { account_tier: 25, verification: 25, profile_completion: TALENT_COMPLETION_MAX },
} as const;

export function talentScore(input: TalentScoreInput): TalentScore {
  const tier = TALENT_TIERS[input.accountType] ?? TALENT_TIERS.free!;
  const verification = input.emailVerified ? 25 : 0;
  const parts = [
    {
      done: (input.aboutyou ?? '').length > ABOUT_MIN_LENGTH,
      points: 5,
      tip: `Write more than ${ABOUT_MIN_LENGTH} characters about yourself (+5 points).`,
      label: 'about you',
    },
    { done: input.hasPicture, points: 5, tip: 'Upload a profile picture (+5 points).', label: 'picture' },
    { done: Boolean(input.country), points: 3, tip: 'Add your country (+3 points).', label: 'country' },
    { done: Boolean(input.dateOfBirth), points: 2, tip: 'Add your date of birth (+2 points).', label: 'date of birth' },
  ];
  const completion = parts.reduce((sum, part) => sum + (part.done ? part.points : 0), 0);
  const done = parts.filter((p) => p.done).map((p) => p.label);

  const tips: string[] = [];
  if (input.accountType !== 'platinum') {
    tips.push(`Upgrade to ${input.accountType === 'premium' ? 'Platinum' : 'Premium or Platinum'} to raise your account tier score.`);
  }
  if (!input.emailVerified) tips.push('Verify your email address (+25 points).');
  for (const part of parts) if (!part.done) tips.push(part.tip);

  return {
    total: tier.points + verification + completion,
    account_tier: tier.points,
    verification,
    profile_completion: completion,
    details: {
      account_tier: `${tier.label} account: ${tier.points} of 25 points.`,
      verification: input.emailVerified ? 'Email verified: 25 of 25 points.' : 'Email not verified: 0 of 25 points.',
      profile_completion: `Profile completion: ${completion} of ${TALENT_COMPLETION_MAX} points${done.length > 0 ? ` (${done.join(', ')})` : ''}.`,
    },
    improvement_tips: tips,
  };
}
