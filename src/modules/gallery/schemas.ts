import { PictureInfo } from '../media/pictures.js';
import { Type } from 'typebox';
import { FileLimitsSchema } from '../common.js';
import { SLOTS, TAGS, VISIBILITIES } from './input.js';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) => Type.Union([schema, Type.Null()]);

// The gallery is serialised 15 times per profile read: nullable fields as `type: [T, "null"]`, which
// fast-json-stringify writes directly, instead of an anyOf it must test value by value.
const NullableString = (options: { description?: string } = {}) => Type.Unsafe<string | null>({ type: ['string', 'null'], ...options });
const NullableNumber = (options: { description?: string; minimum?: number; maximum?: number } = {}) =>
  Type.Unsafe<number | null>({ type: ['number', 'null'], ...options });
const NullableInteger = (options: { description?: string; minimum?: number; maximum?: number } = {}) =>
  Type.Unsafe<number | null>({ type: ['integer', 'null'], ...options });
const NullableSlot = (options: { description?: string } = {}) =>
  Type.Unsafe<(typeof SLOTS)[number] | null>({ type: ['string', 'null'], enum: [...SLOTS, null], ...options });

export const GalleryItem = Type.Object({
  id: Type.Integer(),
  talent: Type.Integer({ description: 'The owner’s account id.' }),
  name: Type.String(),
  media_info: Type.String(),
  media_type: Type.Enum(['image', 'video']),
  media_file: Type.String({ description: 'URL of the photo, or of the video (MP4 or WebM, without metadata).' }),
  thumbnail: NullableString({ description: 'A video’s poster frame (JPEG URL); null for photos.' }),
  created_at: Type.String(),
  updated_at: Type.String(),
  is_test_video: Type.Boolean(),
  test_video_number: NullableInteger({ minimum: 1, maximum: 5 }),
  is_about_yourself_video: Type.Boolean(),
  sharing_status: Type.Object({ is_shared: Type.Boolean(), shared_with: Type.Array(Type.Unknown()), sharing_enabled: Type.Boolean() }),
  slot: NullableSlot({ description: 'Casting slot (photos only); headshot and full_body are one per gallery.' }),
  tags: Type.Array(Type.Enum(TAGS)),
  position: Type.Integer({ description: 'Order in the gallery, first = what a casting director sees first.' }),
  visibility: Type.Enum(VISIBILITIES, { description: 'Hidden items are listed only to their owner.' }),
  duration_seconds: NullableNumber({ description: 'A video’s length.' }),
  media_file_info: PictureInfo,
  freshness: Type.Object(
    {
      taken_at: Type.String({ description: 'Capture date (EXIF, read before metadata is stripped) or else the upload date.' }),
      source: Type.Enum(['capture_date', 'upload_date']),
      age_days: Type.Integer(),
      label: Type.String({ examples: ['taken 8 months ago'] }),
      stale: Type.Boolean({ description: 'Older than six months (casting asks for recent photos).' }),
    },
    { description: 'How long ago the photo was taken.' },
  ),
});

export const GalleryCreated = Type.Object({
  ...GalleryItem.properties,
  file_limits: FileLimitsSchema,
});

export const GalleryList = Type.Array(GalleryItem);

/**
 * The gallery as a profile read embeds it (`media`): every field of GalleryItem except
 * `media_file_info`. The variants and srcset of 15 photos tripled the profile's size (32 kB) for
 * clients that read the profile for its other fields; the gallery endpoints list them.
 */
const { media_file_info: _info, ...profileItemFields } = GalleryItem.properties;
export const ProfileGalleryItem = Type.Object(profileItemFields, {
  description: 'A gallery item as the profile lists it; GET /api/profile/<kind>/media/ adds media_file_info (variants, srcset).',
});
export const ProfileGalleryList = Type.Array(ProfileGalleryItem);

export const Portfolio = Type.Object({
  user_id: Type.Integer(),
  media: Type.Array(GalleryItem, { description: 'Public items in the owner’s order.' }),
});

/** What the upload form accepts (documentation; input.ts validates). */
export const GalleryUploadBody = Type.Object({
  media_file: Type.String({
    format: 'binary',
    title: 'Photo or video',
    description:
      'A photo (JPEG, PNG, GIF, WebP or AVIF, at most MAX_IMAGE_SIZE) or a video (MP4, MOV or WebM with H.264, HEVC, VP8, VP9 or AV1; at most MAX_VIDEO_SIZE and MAX_VIDEO_DURATION).',
  }),
  name: Type.String({ maxLength: 124 }),
  media_info: Type.Optional(Type.String({ maxLength: 2000 })),
  is_test_video: Type.Optional(
    Type.Boolean({ description: 'A numbered test video (videos only, talent only; not counted against the plan).' }),
  ),
  test_video_number: Type.Optional(
    Type.Integer({ minimum: 1, maximum: 5, description: '1–4; 5 is the about-yourself video. Defaults to the lowest free number.' }),
  ),
  is_about_yourself_video: Type.Optional(Type.Boolean({ description: 'The one-minute “about yourself” video (test video 5).' })),
  slot: Type.Optional(Type.Enum(SLOTS)),
  tags: Type.Optional(Type.String({ description: 'Comma-separated: theatrical, commercial.' })),
  visibility: Type.Optional(Type.Enum(VISIBILITIES)),
});

export const GalleryPatchBody = Type.Object(
  {
    name: Type.Optional(Type.String({ maxLength: 124 })),
    media_info: Type.Optional(Type.String({ maxLength: 2000 })),
    slot: Type.Optional(Nullable(Type.Enum(SLOTS))),
    tags: Type.Optional(Type.Array(Type.Enum(TAGS))),
    visibility: Type.Optional(Type.Enum(VISIBILITIES)),
    position: Type.Optional(Type.Integer({ minimum: 0, maximum: 100000 })),
  },
  { examples: [{ slot: 'casual', tags: ['commercial'], visibility: 'public' }] },
);

export const ReorderBody = Type.Object(
  { order: Type.Array(Type.Integer(), { description: 'Every item id of the gallery, first to last.' }) },
  { examples: [{ order: [12, 9, 15] }] },
);

export const MediaIdParams = Type.Object({ id: Type.String({ maxLength: 20 }) });
export const UserIdParams = Type.Object({ userId: Type.String({ maxLength: 20 }) });
