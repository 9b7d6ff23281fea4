import { randomBytes } from 'node:crypto';

const CONTENT_TYPES: Record<string, string> = {
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
  avif: 'image/avif',
  gif: 'image/gif',
  pdf: 'application/pdf',
  mp4: 'video/mp4',
  webm: 'video/webm',
  // Names adopted from Django keep the client's extension; browsers play these as MP4 and WebM.
  mov: 'video/mp4',
  m4v: 'video/mp4',
  mkv: 'video/webm',
};

// folder/<owner id>_<token>.<ext>: exactly what newObjectName and variantName make, so nothing else can be addressed.
const SAFE_NAME = /^[a-z_]+\/\d+_[A-Za-z0-9_-]{16,64}\.(jpg|png|webp|avif|gif|pdf|mp4|webm)$/;

/** A name castfolio made (the sweep only ever deletes these). */
export function isSafeName(name: string): boolean {
  return SAFE_NAME.test(name);
}

// A name a Django installation stored and `cli import django` adopted: one of its upload folders
// (talent media in talent_media/user_<account id>/),
// then Django's get_valid_filename() output (letters, digits, "_", ".", "-"; Unicode letters too),
// at most 100 characters in all (its varchar(100) column), never a dot file or a deeper path.
const LEGACY_NAME =
  /^(?:(?:profile_pictures|background_profile_pictures|item_images|certificates)|talent_media\/user_\d{1,12})\/(?!\.)[\p{L}\p{N}_.-]{1,90}$/u;

/** A name adopted from the Django installation (kept so its URL does not change). */
export function isLegacyName(name: string): boolean {
  return name.length <= 100 && LEGACY_NAME.test(name) && !isSafeName(name);
}

/** Every name storage may address: castfolio's own, or an adopted one. */
export function assertSafeName(name: string): void {
  if (!isSafeName(name) && !isLegacyName(name)) throw new Error(`refusing unsafe media name ${JSON.stringify(name)}`);
}

/** A new, unguessable name on every upload, so CDN caches never serve a stale picture. */
export function newObjectName(folder: string, ownerId: number, extension: string): string {
  return `${folder}/${ownerId}_${token()}.${extension}`;
}

const token = () => randomBytes(16).toString('base64url');

/** The random part a picture's variants share (22 characters, as long as a master's token). */
export const newVariantSet = token;

/** A variant's name: its set, its shape and width, e.g. profile_pictures/5_<set>-avatar-192.webp. */
export function variantName(folder: string, ownerId: number, set: string, shape: string, width: number, format: string): string {
  return `${folder}/${ownerId}_${set}-${shape}-${width}.${format}`;
}

const VARIANT_NAME = /^[a-z_]+\/\d+_([A-Za-z0-9_-]{22})-[a-z]+-\d+\.(webp|avif)$/;

/** The variant set a stored name belongs to, if it is a variant's name. */
export function variantSetOf(name: string): string | undefined {
  return VARIANT_NAME.exec(name)?.[1];
}

export function contentTypeForName(name: string): string {
  return CONTENT_TYPES[name.slice(name.lastIndexOf('.') + 1).toLowerCase()] ?? 'application/octet-stream';
}
