import type { Generated, SqlBool } from 'kysely';

/** Timestamps are ISO-8601 UTC strings on both dialects (see db/index.ts type parsers). */
export type Timestamp = string;

export interface UsersTable {
  id: Generated<number>;
  email: string;
  password_hash: string;
  first_name: string;
  last_name: string;
  residency: string | null;
  is_talent: Generated<SqlBool>;
  is_background: Generated<SqlBool>;
  email_verified: Generated<SqlBool>;
  is_active: Generated<SqlBool>;
  last_login: Timestamp | null;
  /** Tokens carrying another generation (claim `gen`) are refused; a password change moves it on. */
  session_generation: Generated<number>;
  /** Moves on with every gallery change, in the same transaction (keys the in-process gallery cache). */
  gallery_version: Generated<number>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface SocialMediaLinksTable {
  user_id: number;
  facebook: string | null;
  instagram: string | null;
  youtube: string | null;
  tiktok: string | null;
  updated_at: Timestamp;
}

export interface TalentProfilesTable {
  user_id: number;
  aboutyou: string | null;
  city: string | null;
  country: string | null;
  phone: string | null;
  date_of_birth: string | null;
  gender: string | null;
  profile_picture: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface BackgroundProfilesTable {
  user_id: number;
  country: string | null;
  date_of_birth: string | null;
  gender: string | null;
  profile_picture: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface SubscriptionsTable {
  id: Generated<number>;
  user_id: number;
  plan: string;
  status: string;
  start_date: Timestamp;
  end_date: Timestamp;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface PendingDeletionsTable {
  id: Generated<number>;
  name: string;
  attempts: Generated<number>;
  last_error: string | null;
  next_attempt_at: Timestamp;
  created_at: Timestamp;
}

export interface ItemsTable {
  id: Generated<number>;
  user_id: number;
  item_type: string;
  name: string;
  description: string | null;
  /** Price in cents: exact on both dialects; the API shows it as a two-place decimal string. */
  price_cents: number | null;
  genre: string | null;
  is_for_rent: Generated<SqlBool>;
  is_for_sale: Generated<SqlBool>;
  image: string | null;
  material: string | null;
  used_in_movie: string | null;
  condition: string | null;
  size: string | null;
  worn_by: string | null;
  era: string | null;
  address: string | null;
  capacity: number | null;
  is_indoor: SqlBool | null;
  signed_by: string | null;
  authenticity_certificate: string | null;
  make: string | null;
  model: string | null;
  year: number | null;
  material_type: string | null;
  instrument_type: string | null;
  used_by: string | null;
  provenance: string | null;
  is_one_of_a_kind: SqlBool | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface VerificationCodesTable {
  id: Generated<number>;
  user_id: number;
  purpose: string;
  code_hash: string;
  attempts: Generated<number>;
  expires_at: Timestamp;
  used_at: Timestamp | null;
  created_at: Timestamp;
}

export interface RevokedTokensTable {
  jti: string;
  family: string | null;
  reason: string;
  expires_at: Timestamp;
}

export interface RevokedTokenFamiliesTable {
  family: string;
  expires_at: Timestamp;
}

export interface OutboxEmailsTable {
  id: Generated<number>;
  to_address: string;
  subject: string;
  text_body: string;
  html_body: string;
  attempts: Generated<number>;
  next_attempt_at: Timestamp;
  locked_until: Timestamp | null;
  last_error: string | null;
  sent_at: Timestamp | null;
  created_at: Timestamp;
}

export interface GalleryMediaTable {
  id: Generated<number>;
  user_id: number;
  /** Which profile's gallery: 'talent' or 'background'. */
  kind: string;
  name: string;
  media_info: string;
  media_type: string;
  file: string;
  /** A video's poster frame. */
  thumbnail: string | null;
  duration_seconds: number | null;
  is_test_video: Generated<SqlBool>;
  test_video_number: number | null;
  is_about_yourself_video: Generated<SqlBool>;
  /** headshot | full_body | casual | business | formal | special, or null. */
  slot: string | null;
  /** Comma-separated: theatrical, commercial. */
  tags: Generated<string>;
  position: Generated<number>;
  /** public | hidden */
  visibility: Generated<string>;
  captured_at: Timestamp | null;
  reminded_at: Timestamp | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface LegacyImportsTable {
  source: string;
  source_id: number;
  target_id: number;
  fingerprint: string;
  imported_at: Timestamp;
}

/** A stored picture's size, placeholder and variants, keyed by the master's stored name. */
export interface PicturesTable {
  name: string;
  user_id: number;
  width: number;
  height: number;
  placeholder: string | null;
  variant_set: string;
  /** JSON array of StoredVariant. */
  variants: string;
  /** JSON PictureAnalysis (faces, focus, hints, capture date); null before it existed. */
  analysis: string | null;
  created_at: Timestamp;
}

export interface Database {
  users: UsersTable;
  talent_profiles: TalentProfilesTable;
  background_profiles: BackgroundProfilesTable;
  subscriptions: SubscriptionsTable;
  pending_deletions: PendingDeletionsTable;
  items: ItemsTable;
  verification_codes: VerificationCodesTable;
  revoked_tokens: RevokedTokensTable;
  revoked_token_families: RevokedTokenFamiliesTable;
  outbox_emails: OutboxEmailsTable;
  social_media_links: SocialMediaLinksTable;
  legacy_imports: LegacyImportsTable;
  gallery_media: GalleryMediaTable;
  pictures: PicturesTable;
}
