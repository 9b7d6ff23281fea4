/**
 * How rows of the Django installation (gan7club) become castfolio rows: pure functions, so every
 * decision about the source's surprises is stated once and unit-tested. See
 * shared/django-source-schema.md for the source; docs/cutover.md for the decisions in prose.
 */
import { createHash } from 'node:crypto';
import type { ItemType } from '../items/catalogue.js';
import type { SourceRow } from './source.js';

export const USER_COLUMNS = [
  'id',
  'password',
  'last_login',
  'email',
  'first_name',
  'last_name',
  'is_active',
  'date_joined',
  'email_verified',
  'is_talent',
  'is_background',
  'is_dashboard',
  'country',
  'residency',
  'city',
  'phone',
  'date_of_birth',
  'gender',
] as const;
export const TALENT_COLUMNS = [
  'id',
  'user_id',
  'profile_picture',
  'aboutyou',
  'account_type',
  'country',
  'city',
  'phone',
  'date_of_birth',
  'gender',
] as const;
export const BACKGROUND_COLUMNS = ['id', 'user_id', 'profile_picture', 'country', 'date_of_birth', 'gender'] as const;
export const SOCIAL_COLUMNS = ['id', 'user_id', 'facebook', 'instagram', 'youtube', 'tiktok'] as const;
export const TALENT_MEDIA_COLUMNS = [
  'id',
  'talent_id',
  'name',
  'media_info',
  'media_type',
  'media_file',
  'created_at',
  'updated_at',
  'is_test_video',
  'test_video_number',
  'is_about_yourself_video',
] as const;
export const PLAN_COLUMNS = ['id', 'name', 'duration_months'] as const;
export const SUBSCRIPTION_COLUMNS = [
  'id',
  'user_id',
  'plan_id',
  'status',
  'is_active',
  'start_date',
  'end_date',
  'current_period_end',
  'created_at',
] as const;
const ITEM_COMMON = [
  'id',
  'BackGroundJobsProfile_id',
  'name',
  'description',
  'price',
  'genre_id',
  'is_for_rent',
  'is_for_sale',
  'created_at',
  'updated_at',
  'image',
];

/** The eight item tables: castfolio's type, and source column → castfolio column for its own fields. */
export const ITEM_TABLES: { table: string; type: ItemType; columns: Record<string, string> }[] = [
  { table: 'profiles_prop', type: 'prop', columns: { material: 'material', used_in_movie: 'used_in_movie', condition: 'condition' } },
  { table: 'profiles_costume', type: 'costume', columns: { size: 'size', worn_by: 'worn_by', era: 'era' } },
  { table: 'profiles_location', type: 'location', columns: { address: 'address', capacity: 'capacity', is_indoor: 'is_indoor' } },
  {
    table: 'profiles_memorabilia',
    type: 'memorabilia',
    columns: { signed_by: 'signed_by', authenticity_certificate: 'authenticity_certificate' },
  },
  { table: 'profiles_vehicle', type: 'vehicle', columns: { make: 'make', model: 'model', year: 'year' } },
  { table: 'profiles_artisticmaterial', type: 'artistic_material', columns: { type: 'material_type', condition: 'condition' } },
  { table: 'profiles_musicitem', type: 'music_item', columns: { instrument_type: 'instrument_type', used_by: 'used_by' } },
  { table: 'profiles_rareitem', type: 'rare_item', columns: { provenance: 'provenance', is_one_of_a_kind: 'is_one_of_a_kind' } },
];
export const itemColumns = (table: (typeof ITEM_TABLES)[number]) => [...ITEM_COMMON, ...Object.keys(table.columns)];

/** A row the import leaves out, or changes on the way in, and why (the closing summary lists them). */
export interface Note {
  table: string;
  sourceId: number;
  action: 'skipped' | 'altered';
  reason: string;
}

const text = (value: unknown): string | null => (typeof value === 'string' && value.trim() !== '' ? value.trim() : null);
const bool = (value: unknown): boolean => value === true;
/** The source's placeholders for "unset" (`'country'`, `'city'`) and empty strings. */
const unlessPlaceholder = (value: unknown, placeholder: string): string | null => {
  const found = text(value);
  return found === null || found.toLowerCase() === placeholder ? null : found;
};
/** Every Django file field: '' and NULL both mean no file. */
export const fileName = (value: unknown): string | null => text(value);

const GENDERS: Record<string, string> = {
  Male: 'Male',
  Female: 'Female',
  Other: 'Other',
  'Prefer not to say': 'Prefer not to say',
  M: 'Male',
  F: 'Female',
  O: 'Other',
};

/**
 * The profile's gender. The source's profile rows are created with `Male` whatever the user said
 * (and the scoring treats `Male` as unset), so a profile's `Male` counts only when the account says
 * so too; otherwise the account's gender (set at registration) is used.
 */
export function genderOf(profileGender: unknown, accountGender: unknown): string | null {
  const profile = typeof profileGender === 'string' ? GENDERS[profileGender.trim()] : undefined;
  const account = typeof accountGender === 'string' ? GENDERS[accountGender.trim()] : undefined;
  if (profile && profile !== 'Male') return profile;
  return account ?? null;
}

/** A stable fingerprint of mapped values: a re-run touches a row only when this changed. */
export function fingerprint(values: object): string {
  return createHash('sha256').update(JSON.stringify(values)).digest('hex');
}

/** "12.50" → 1250, exactly (no floating point); null for anything else. */
export function priceCents(value: unknown): number | null {
  const match = typeof value === 'string' || typeof value === 'number' ? /^(\d{1,13})(?:\.(\d{1,2}))?$/.exec(String(value)) : null;
  if (!match) return null;
  return Number(match[1]) * 100 + Number((match[2] ?? '0').padEnd(2, '0'));
}

export interface UserValues {
  id: number;
  email: string;
  password_hash: string;
  first_name: string;
  last_name: string;
  residency: string | null;
  is_talent: boolean;
  is_background: boolean;
  email_verified: boolean;
  is_active: boolean;
  last_login: string | null;
  created_at: string;
}

const EMAIL = /^[^\s@]+@[^\s@]+$/;

/**
 * The accounts to import. castfolio compares emails without regard to letter case; the source
 * does not, so two accounts can differ only in case. Of those, the one that signed in most recently
 * is kept (it is the one its owner uses), then one whose password can be checked, then the oldest;
 * the others are skipped and named. Accounts with neither the talent nor the background role
 * (dashboard staff) are skipped: castfolio does not serve them.
 */
export function chooseUsers(rows: SourceRow[]): { users: Map<number, UserValues>; notes: Note[] } {
  const notes: Note[] = [];
  const byEmail = new Map<string, SourceRow[]>();
  for (const row of rows) {
    const id = Number(row.id);
    const email = text(row.email)?.toLowerCase();
    if (!email || !EMAIL.test(email) || email.length > 254) {
      notes.push({ table: 'users', sourceId: id, action: 'skipped', reason: 'no valid email address' });
      continue;
    }
    if (!bool(row.is_talent) && !bool(row.is_background)) {
      notes.push({
        table: 'users',
        sourceId: id,
        action: 'skipped',
        reason: 'neither a talent nor a background account (dashboard staff)',
      });
      continue;
    }
    byEmail.set(email, [...(byEmail.get(email) ?? []), row]);
  }
  const users = new Map<number, UserValues>();
  const usable = (row: SourceRow) => typeof row.password === 'string' && row.password.startsWith('pbkdf2_');
  for (const [email, candidates] of byEmail) {
    const [kept, ...others] = [...candidates].sort(
      (a, b) =>
        String(b.last_login ?? '').localeCompare(String(a.last_login ?? '')) ||
        Number(usable(b)) - Number(usable(a)) ||
        Number(a.id) - Number(b.id),
    ) as [SourceRow, ...SourceRow[]];
    for (const other of others) {
      notes.push({
        table: 'users',
        sourceId: Number(other.id),
        action: 'skipped',
        reason: `its email differs only in letter case from user ${String(kept.id)}, which is kept (most recent sign-in, then a usable password, then the oldest)`,
      });
    }
    users.set(Number(kept.id), {
      id: Number(kept.id),
      email,
      password_hash: typeof kept.password === 'string' ? kept.password : '!',
      first_name: text(kept.first_name) ?? '',
      last_name: text(kept.last_name) ?? '',
      residency: text(kept.residency),
      is_talent: bool(kept.is_talent),
      is_background: bool(kept.is_background),
      email_verified: bool(kept.email_verified),
      is_active: kept.is_active !== false,
      last_login: typeof kept.last_login === 'string' ? kept.last_login : null,
      created_at: typeof kept.date_joined === 'string' ? kept.date_joined : new Date(0).toISOString(),
    });
  }
  return { users, notes };
}

export interface TalentValues {
  user_id: number;
  aboutyou: string | null;
  city: string | null;
  country: string | null;
  phone: string | null;
  date_of_birth: string | null;
  gender: string | null;
  profile_picture: string | null;
}

export interface BackgroundValues {
  user_id: number;
  country: string | null;
  date_of_birth: string | null;
  gender: string | null;
  profile_picture: string | null;
}

const dateOf = (value: unknown): string | null => (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(value) ? value : null);

/** A talent profile; without a source row, one made from the account's own fields. */
export function talentProfile(account: SourceRow, profile: SourceRow | undefined): TalentValues {
  return {
    user_id: Number(account.id),
    aboutyou: text(profile?.aboutyou),
    city: unlessPlaceholder(profile?.city, 'city') ?? text(account.city),
    country: unlessPlaceholder(profile?.country, 'country') ?? text(account.country),
    phone: text(profile?.phone) ?? text(account.phone),
    date_of_birth: dateOf(profile?.date_of_birth) ?? dateOf(account.date_of_birth),
    gender: genderOf(profile?.gender, account.gender),
    profile_picture: fileName(profile?.profile_picture),
  };
}

export function backgroundProfile(account: SourceRow, profile: SourceRow | undefined): BackgroundValues {
  return {
    user_id: Number(account.id),
    country: unlessPlaceholder(profile?.country, 'country') ?? text(account.country),
    date_of_birth: dateOf(profile?.date_of_birth) ?? dateOf(account.date_of_birth),
    gender: genderOf(profile?.gender, account.gender),
    profile_picture: fileName(profile?.profile_picture),
  };
}

export type ItemValues = Record<string, string | number | boolean | null>;

export function itemValues(table: (typeof ITEM_TABLES)[number], row: SourceRow, userId: number, genre: string | null): ItemValues {
  const values: ItemValues = {
    user_id: userId,
    item_type: table.type,
    name: text(row.name) ?? 'Untitled item',
    description: text(row.description),
    price_cents: priceCents(row.price),
    genre,
    is_for_rent: bool(row.is_for_rent),
    is_for_sale: bool(row.is_for_sale),
    image: fileName(row.image),
    created_at: typeof row.created_at === 'string' ? row.created_at : new Date(0).toISOString(),
    updated_at: typeof row.updated_at === 'string' ? row.updated_at : new Date(0).toISOString(),
  };
  for (const [source, column] of Object.entries(table.columns)) {
    const value = row[source];
    values[column] =
      column === 'authenticity_certificate'
        ? fileName(value)
        : typeof value === 'string'
          ? text(value)
          : ((value as number | boolean | null | undefined) ?? null);
  }
  return values;
}

export type GalleryValues = Record<string, string | number | boolean | null>;

/**
 * A TalentMedia row as a castfolio gallery item, or why it cannot be one. The file keeps its Django
 * name (talent_media/user_<id>/<uuid>.<ext>); Django's `thumbnail` was never generated and is not
 * carried. Test-video numbers outside 1–5 are dropped (the source only checks ≥ 0); the about-yourself
 * video is number 5, as the live rules say. castfolio's own fields (slot, tags, position, visibility)
 * are not mapped: new items get their defaults (position 0, so they keep the source's order by id)
 * and a re-run never overwrites what the performer set here.
 */
export function galleryValues(row: SourceRow, userId: number): GalleryValues | string {
  const mediaType = text(row.media_type);
  if (mediaType !== 'image' && mediaType !== 'video') return `media_type ${String(row.media_type)} is neither image nor video`;
  const file = fileName(row.media_file);
  if (!file) return 'no media file';
  const aboutYourself = bool(row.is_about_yourself_video) && mediaType === 'video';
  const testVideo = (bool(row.is_test_video) || aboutYourself) && mediaType === 'video';
  const number = Number(row.test_video_number);
  const validNumber = Number.isInteger(number) && number >= 1 && number <= 5 ? number : null;
  return {
    user_id: userId,
    kind: 'talent',
    name: (text(row.name) ?? 'Untitled Media').slice(0, 124),
    media_info: (text(row.media_info) ?? '').slice(0, 2000),
    media_type: mediaType,
    file,
    is_test_video: testVideo,
    test_video_number: testVideo ? (aboutYourself ? 5 : validNumber !== 5 ? validNumber : null) : null,
    is_about_yourself_video: aboutYourself,
    created_at: typeof row.created_at === 'string' ? row.created_at : new Date(0).toISOString(),
    updated_at: typeof row.updated_at === 'string' ? row.updated_at : new Date(0).toISOString(),
  };
}

/** castfolio's plan for a source plan name; undefined for plans castfolio does not sell (bands). */
export function planCode(name: unknown): string | undefined {
  const plans: Record<string, string> = {
    premium: 'premium',
    platinum: 'platinum',
    background_jobs: 'background_jobs',
    back_ground_jobs: 'background_jobs',
    silver: 'premium',
    gold: 'premium',
  };
  return typeof name === 'string' ? plans[name] : undefined;
}

export interface SubscriptionValues {
  user_id: number;
  plan: string;
  status: 'active' | 'cancelled';
  start_date: string;
  end_date: string;
  created_at: string;
}

/**
 * A subscription: active when the source counts it active (`status` active and `is_active`), ending
 * at its paid period's end, else its end date, else its plan's duration after it started.
 */
export function subscriptionValues(row: SourceRow, plan: string, durationMonths: number): SubscriptionValues {
  const start =
    typeof row.start_date === 'string' ? row.start_date : typeof row.created_at === 'string' ? row.created_at : new Date(0).toISOString();
  const fallbackEnd = new Date(start);
  fallbackEnd.setUTCMonth(fallbackEnd.getUTCMonth() + (durationMonths > 0 ? durationMonths : 12));
  const end =
    [row.current_period_end, row.end_date].find((value): value is string => typeof value === 'string') ?? fallbackEnd.toISOString();
  return {
    user_id: Number(row.user_id),
    plan,
    status: row.status === 'active' && row.is_active === true ? 'active' : 'cancelled',
    start_date: start,
    end_date: end,
    created_at: typeof row.created_at === 'string' ? row.created_at : start,
  };
}
