import { pictureInfoView } from '../media/pictures.js';
import fastJson from 'fast-json-stringify';
import type { Slot, Tag, Visibility } from './input.js';
import type { GalleryRow } from './repository.js';
import { ProfileGalleryList } from './schemas.js';

const DAY_MS = 86_400_000;
/** The UTC calendar day of an instant: ages count calendar days, so they turn over at midnight UTC. */
const dayOf = (ms: number) => Math.floor(ms / DAY_MS);
/** Casting asks for photos under six months old. */
export const STALE_AFTER_DAYS = 183;

/** "today", "3 days ago", "8 months ago", "2 years ago". */
export function ageLabel(days: number): string {
  if (days < 1) return 'today';
  const unit = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'} ago`;
  if (days < 31) return unit(days, 'day');
  if (days < 365) return unit(Math.floor(days / 30.44), 'month');
  return unit(Math.floor(days / 365.25), 'year');
}

/** How old the photo is: from its capture date when the camera recorded one, else from the upload. */
export function freshnessOf(
  row: Pick<GalleryRow, 'captured_at' | 'created_at'>,
  now: Date,
  takenMs = Date.parse(row.captured_at ?? row.created_at),
) {
  const days = Math.max(0, dayOf(now.getTime()) - dayOf(takenMs));
  return {
    taken_at: row.captured_at ?? row.created_at,
    source: row.captured_at ? ('capture_date' as const) : ('upload_date' as const),
    age_days: days,
    label: row.captured_at ? `taken ${ageLabel(days)}` : `uploaded ${ageLabel(days)}`,
    stale: days > STALE_AFTER_DAYS,
  };
}

const SHARING_STATUS = Object.freeze({ is_shared: false, shared_with: Object.freeze([]) as never[], sharing_enabled: false });

function staticView(row: GalleryRow, mediaFile: string, urlFor: (name: string) => string) {
  return {
    id: row.id,
    talent: row.user_id,
    name: row.name,
    media_info: row.media_info,
    media_type: row.media_type as 'image' | 'video',
    media_file: mediaFile,
    thumbnail: row.thumbnail ? urlFor(row.thumbnail) : null,
    created_at: row.created_at,
    updated_at: row.updated_at,
    is_test_video: Boolean(row.is_test_video),
    test_video_number: row.test_video_number,
    is_about_yourself_video: Boolean(row.is_about_yourself_video),
    sharing_status: SHARING_STATUS,
    slot: row.slot as Slot | null,
    tags: row.tags === '' ? [] : (row.tags.split(',') as Tag[]),
    position: row.position,
    visibility: row.visibility as Visibility,
    duration_seconds: row.duration_seconds === null ? null : Number(row.duration_seconds),
    media_file_info: pictureInfoView(row.picture, urlFor),
  };
}

// Profile reads serve the same cached rows again and again (GalleryRepository.listFor): each row's
// view is built once per public URL base, and only its freshness is worked out per request.
const views = new WeakMap<GalleryRow, { mediaFile: string; view: ReturnType<typeof staticView>; takenMs: number }>();

/**
 * One gallery item as the live TalentMediaSerializer shows it (`talent` is the owner's account id
 * here; `thumbnail` is a video's poster frame), then castfolio's additive fields: the casting slot,
 * tags, order, visibility, a video's length and the photo's freshness.
 */
export function galleryItemView(row: GalleryRow, urlFor: (name: string) => string, now: Date) {
  const mediaFile = urlFor(row.file);
  let cached = views.get(row);
  if (!cached || cached.mediaFile !== mediaFile) {
    cached = { mediaFile, view: staticView(row, mediaFile, urlFor), takenMs: Date.parse(row.captured_at ?? row.created_at) };
    views.set(row, cached);
  }
  const view = cached.view;
  // Written out, not spread: an object literal of a fixed shape is built and serialised fastest.
  return {
    id: view.id,
    talent: view.talent,
    name: view.name,
    media_info: view.media_info,
    media_type: view.media_type,
    media_file: view.media_file,
    thumbnail: view.thumbnail,
    created_at: view.created_at,
    updated_at: view.updated_at,
    is_test_video: view.is_test_video,
    test_video_number: view.test_video_number,
    is_about_yourself_video: view.is_about_yourself_video,
    sharing_status: view.sharing_status,
    slot: view.slot,
    tags: view.tags,
    position: view.position,
    visibility: view.visibility,
    duration_seconds: view.duration_seconds,
    media_file_info: view.media_file_info,
    freshness: freshnessOf(row, now, cached.takenMs),
  };
}

// ---- The gallery as JSON, for profile reads (see profiles/routes.ts) -------------------------

/** The profile's gallery schema's own serializer (the one Fastify compiles for profile responses). */
const serializeList = fastJson(ProfileGalleryList as object);
const listJson = new WeakMap<readonly GalleryRow[], { day: number; firstUrl: string | undefined; json: Buffer }>();

/**
 * The gallery's JSON array as the profile's response schema writes it, as UTF-8 bytes. A gallery
 * version's rows are one cached array (GalleryRepository.listFor), and what is shown of them
 * changes only with the public URL base and the calendar day (freshness): the bytes are written
 * once per array, base and day, so a read copies them instead of encoding the text again.
 */
export function galleryJson(rows: readonly GalleryRow[], urlFor: (name: string) => string, now: Date): Buffer {
  const day = dayOf(now.getTime());
  const firstUrl = rows[0] ? urlFor(rows[0].file) : undefined;
  const cached = listJson.get(rows);
  if (cached && cached.day === day && cached.firstUrl === firstUrl) return cached.json;
  const json = Buffer.from(serializeList(rows.map((row) => galleryItemView(row, urlFor, now))));
  listJson.set(rows, { day, firstUrl, json });
  return json;
}
