import { validationError, type FieldErrors } from '../../errors.js';
import type { UploadedFile } from '../../http/multipart.js';
import { asDictionary, booleanOf, NOT_A_FILE, rowIdOf } from '../../validation.js';

export const MEDIA_FIELD = 'media_file';
const NAME_MAX = 124;
const INFO_MAX = 2000;

/** Casting slots (Central Casting's looks); headshot and full-body are one per gallery. */
export const SLOTS = ['headshot', 'full_body', 'casual', 'business', 'formal', 'special'] as const;
export type Slot = (typeof SLOTS)[number];
export const UNIQUE_SLOTS: ReadonlySet<Slot> = new Set(['headshot', 'full_body']);
export const TAGS = ['theatrical', 'commercial'] as const;
export type Tag = (typeof TAGS)[number];
export const VISIBILITIES = ['public', 'hidden'] as const;
export type Visibility = (typeof VISIBILITIES)[number];

/** A gallery upload as received: the multipart fields and the file. */
export interface GalleryForm {
  body: unknown;
  files: Record<string, UploadedFile>;
}

/** The test-video flags as the client sent them; whether they fit is decided once the file is known to be a video. */
export interface TestVideoFlags {
  isTestVideo: boolean;
  number: number | undefined;
  aboutYourself: boolean;
}

export interface GalleryInput {
  name: string;
  mediaInfo: string;
  file: UploadedFile;
  testVideo: TestVideoFlags;
  slot: Slot | null;
  tags: string;
  visibility: Visibility;
}

/** A change to an item's details or casting fields (PATCH); absent fields stay. */
export interface GalleryPatch {
  name?: string;
  mediaInfo?: string;
  slot?: Slot | null;
  tags?: string;
  visibility?: Visibility;
  position?: number;
}

const last = (value: unknown) => (Array.isArray(value) ? value.at(-1) : value);

/** DRF's BooleanField: the usual spellings of true and false, booleans and 0/1. */
function parseBoolean(value: unknown, field: string, errors: FieldErrors): boolean {
  const raw = last(value);
  if (raw === undefined || raw === null || (typeof raw === 'string' && raw.trim() === '')) return false;
  const parsed = booleanOf(raw);
  if (parsed === undefined) errors[field] = ['Must be a valid boolean.'];
  return parsed ?? false;
}

function parseChoice<T extends string>(value: unknown, choices: readonly T[], field: string, errors: FieldErrors): T | undefined {
  if (typeof value === 'string' && (choices as readonly string[]).includes(value)) return value as T;
  errors[field] = [`"${typeof value === 'string' ? value.slice(0, 40) : String(value).slice(0, 40)}" is not a valid choice.`];
  return undefined;
}

/** A slot, or null/"" for none. */
function parseSlot(value: unknown, errors: FieldErrors): Slot | null | undefined {
  const raw = last(value);
  if (raw === null || raw === '') return null;
  return parseChoice(raw, SLOTS, 'slot', errors);
}

/** Tags as a list (JSON) or comma-separated text (a form); stored sorted, without repeats, as "commercial,theatrical". */
function parseTags(value: unknown, errors: FieldErrors): string | undefined {
  const raw = Array.isArray(value) && value.every((entry) => typeof entry === 'string') ? value.join(',') : value;
  if (raw === null || raw === '') return '';
  if (typeof raw !== 'string') {
    errors.tags = ['Expected a list of items.'];
    return undefined;
  }
  const tags = [
    ...new Set(
      raw
        .split(',')
        .map((tag) => tag.trim())
        .filter(Boolean),
    ),
  ];
  const unknown = tags.find((tag) => !(TAGS as readonly string[]).includes(tag));
  if (unknown !== undefined) {
    errors.tags = [`"${unknown.slice(0, 40)}" is not a valid choice.`];
    return undefined;
  }
  return tags.sort().join(',');
}

function parseName(value: unknown, errors: FieldErrors): string | undefined {
  const name = last(value);
  if (typeof name !== 'string' || name.trim() === '') {
    errors.name = [name === undefined ? 'This field is required.' : 'This field may not be blank.'];
    return undefined;
  }
  if (name.trim().length > NAME_MAX) {
    errors.name = [`Ensure this field has no more than ${NAME_MAX} characters.`];
    return undefined;
  }
  return name.trim();
}

function parseInfo(value: unknown, errors: FieldErrors): string | undefined {
  const info = last(value);
  if (info === undefined || info === null) return '';
  if (typeof info !== 'string') {
    errors.media_info = ['Not a valid string.'];
    return undefined;
  }
  if (info.trim().length > INFO_MAX) {
    errors.media_info = [`Ensure this field has no more than ${INFO_MAX} characters.`];
    return undefined;
  }
  return info.trim();
}

function parseTestVideo(body: Record<string, unknown>, errors: FieldErrors): TestVideoFlags {
  const aboutYourself = parseBoolean(body.is_about_yourself_video, 'is_about_yourself_video', errors);
  const isTestVideo = parseBoolean(body.is_test_video, 'is_test_video', errors) || aboutYourself;
  const rawNumber = last(body.test_video_number);
  let number: number | undefined;
  if (rawNumber !== undefined && rawNumber !== null && rawNumber !== '') {
    const parsed =
      typeof rawNumber === 'number'
        ? rawNumber
        : typeof rawNumber === 'string' && /^\d{1,3}$/.test(rawNumber.trim())
          ? Number(rawNumber)
          : NaN;
    if (!Number.isInteger(parsed)) errors.test_video_number = ['A valid integer is required.'];
    else if (!isTestVideo) errors.test_video_number = ['Only a test video has a number: set is_test_video too.'];
    else if (aboutYourself && parsed !== 5) errors.test_video_number = ['The about yourself video is test video 5.'];
    else if (!aboutYourself && (parsed < 1 || parsed > 4))
      errors.test_video_number = ['Test videos are numbered 1 to 4 (5 is the about yourself video).'];
    else number = parsed;
  }
  return { isTestVideo, number: aboutYourself ? 5 : number, aboutYourself };
}

/** The live serializer's rules (a file, a name that is not blank, at most 124 characters) plus the casting fields. */
export function parseGalleryForm(form: GalleryForm): GalleryInput {
  const body = asDictionary(form.body);
  const errors: FieldErrors = {};
  const file = form.files[MEDIA_FIELD];
  if (!file) errors[MEDIA_FIELD] = [body[MEDIA_FIELD] === undefined ? 'No file was submitted.' : NOT_A_FILE];
  const name = parseName(body.name, errors);
  const mediaInfo = parseInfo(body.media_info, errors);
  const testVideo = parseTestVideo(body, errors);
  const slot = body.slot === undefined ? null : parseSlot(body.slot, errors);
  const tags = body.tags === undefined ? '' : parseTags(body.tags, errors);
  const visibility = body.visibility === undefined ? 'public' : parseChoice(last(body.visibility), VISIBILITIES, 'visibility', errors);
  if (Object.keys(errors).length > 0) throw validationError(errors);
  return {
    name: name as string,
    mediaInfo: mediaInfo as string,
    file: file as UploadedFile,
    testVideo,
    slot: slot ?? null,
    tags: tags as string,
    visibility: visibility as Visibility,
  };
}

const PATCH_FIELDS = new Set(['name', 'media_info', 'slot', 'tags', 'visibility', 'position']);

/** PATCH /api/profile/<kind>/media/<id>/: any of name, media_info, slot, tags, visibility, position. */
export function parseGalleryPatch(body: unknown): GalleryPatch {
  const input = asDictionary(body);
  const errors: FieldErrors = {};
  const patch: GalleryPatch = {};
  if (input.name !== undefined) patch.name = parseName(input.name, errors);
  if (input.media_info !== undefined) patch.mediaInfo = parseInfo(input.media_info, errors);
  if (input.slot !== undefined) patch.slot = parseSlot(input.slot, errors);
  if (input.tags !== undefined) patch.tags = parseTags(input.tags, errors);
  if (input.visibility !== undefined) patch.visibility = parseChoice(last(input.visibility), VISIBILITIES, 'visibility', errors);
  if (input.position !== undefined) {
    const raw = last(input.position);
    const position = typeof raw === 'string' && /^\d{1,6}$/.test(raw.trim()) ? Number(raw) : raw;
    if (typeof position !== 'number' || !Number.isInteger(position) || position < 0 || position > 100_000)
      errors.position = ['Ensure this value is an integer from 0 to 100000.'];
    else patch.position = position;
  }
  if (Object.keys(errors).length > 0) throw validationError(errors);
  if (!Object.keys(input).some((key) => PATCH_FIELDS.has(key))) {
    throw validationError({ non_field_errors: ['Send at least one of: name, media_info, slot, tags, visibility, position.'] });
  }
  return patch;
}

/**
 * POST …/media/reorder/: {"order": [id, …]} naming every item once. A form sends the list as a
 * repeated field (one value for a one-item gallery) of digits, which count as ids, as DRF's list of
 * integers reads them.
 */
export function parseReorder(body: unknown): number[] {
  const given = asDictionary(body).order;
  const listed = typeof given === 'string' ? [given] : given;
  if (!Array.isArray(listed)) throw validationError({ order: ['Expected a list of items.'] });
  const order = listed.map((id: unknown) => rowIdOf(typeof id === 'string' ? id.trim() : id));
  if (order.length > 1000 || order.includes(undefined)) {
    throw validationError({ order: ['Each entry must be the id of one of your gallery items.'] });
  }
  if (new Set(order).size !== order.length) throw validationError({ order: ['Each item may appear only once.'] });
  return order as number[];
}
