import { PictureInfo } from '../media/pictures.js';
import { Type } from 'typebox';
import { DateString, FileLimitsSchema, Gender } from '../common.js';
import { ProfileGalleryList } from '../gallery/schemas.js';
import { SocialLinksView } from '../social/view.js';
import { SCORE_MAXIMUMS } from './score.js';
import { BackgroundRestrictionsSchema, SubscriptionStatusSchema, TalentRestrictionsSchema } from '../subscriptions/schemas.js';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) => Type.Union([schema, Type.Null()]);

/** Writable fields: the schema each value must match when it is not empty (empty clears it). */
export const BACKGROUND_FIELDS = {
  country: Type.String({ maxLength: 25 }),
  date_of_birth: DateString,
  gender: Gender,
};

export const TALENT_FIELDS = {
  ...BACKGROUND_FIELDS,
  aboutyou: Type.String({ maxLength: 2000 }),
  city: Type.String({ maxLength: 100 }),
  phone: Type.String({
    maxLength: 20,
    pattern: '^\\+?[0-9][0-9 ()./-]{5,19}$',
    'x-messages': { pattern: 'Enter a valid phone number, e.g. +1 555 010 2030.' },
  }),
};

export const PartialQuery = Type.Object({
  partial: Type.Optional(Type.Enum(['true', 'false', 'True', 'False', '1', '0'])),
});

const commonProfile = {
  id: Type.Integer(),
  email: Type.String(),
  username: Type.String(),
  email_verified: Type.Boolean(),
  profile_picture: Nullable(Type.String()),
  /** Additive: the picture's size, placeholder and responsive variants. */
  profile_picture_info: PictureInfo,
  country: Nullable(Type.String()),
  date_of_birth: Nullable(Type.String()),
  gender: Nullable(Type.String()),
  account_type: Type.String(),
  profile_score: Type.Integer(),
};

/** The account's own fields both live serializers show with the profile. */
const accountFields = {
  first_name: Type.String(),
  last_name: Type.String(),
  full_name: Type.String(),
  residency: Type.String(),
};

const BackgroundProfileSchema = Type.Object({ ...commonProfile, ...accountFields });

const talentFields = {
  ...commonProfile,
  aboutyou: Nullable(Type.String()),
  city: Nullable(Type.String()),
  phone: Nullable(Type.String()),
  is_verified: Type.Boolean(),
  profile_complete: Type.Boolean(),
  ...accountFields,
};

const TalentProfileSchema = Type.Object(talentFields);

/** The live service's TalentUserProfileSerializer fields at the top level of GET /api/profile/talent/. */
const { profile_score: _total, ...liveTalentFields } = talentFields;
const LiveTalentExtras = {
  social_media_links: Type.Union([SocialLinksView, Type.Object({})]),
  media: ProfileGalleryList,
  file_limits: FileLimitsSchema,
  account_limitations: Type.Object({
    images_used: Type.Integer(),
    images_limit: Type.Integer(),
    images_remaining: Type.Integer(),
    videos_used: Type.Integer(),
    videos_limit: Type.Integer(),
    videos_remaining: Type.Integer(),
    can_advanced_search: Type.Boolean(),
    can_priority_support: Type.Boolean(),
    can_custom_url: Type.Boolean(),
    can_featured_placement: Type.Boolean(),
  }),
  upgrade_prompt: Nullable(Type.Object({ message: Type.String(), upgrade_url: Type.String() })),
};

const points = (maximum: number) => Type.Integer({ minimum: 0, maximum });
const sum = (maximums: Record<string, number>) => Object.values(maximums).reduce((a, b) => a + b, 0);

const BackgroundScoreSchema = Type.Object({
  total: points(sum(SCORE_MAXIMUMS.background)),
  account_tier: points(SCORE_MAXIMUMS.background.account_tier),
  profile_completion: points(SCORE_MAXIMUMS.background.profile_completion),
  item_diversity: points(SCORE_MAXIMUMS.background.item_diversity),
  item_quantity: points(SCORE_MAXIMUMS.background.item_quantity),
  details: Type.Object({
    account_tier: Type.String(),
    profile_completion: Type.String(),
    item_diversity: Type.String(),
    item_quantity: Type.String(),
  }),
  improvement_tips: Type.Array(Type.String()),
});

const TalentScoreSchema = Type.Object({
  total: points(sum(SCORE_MAXIMUMS.talent)),
  account_tier: points(SCORE_MAXIMUMS.talent.account_tier),
  verification: points(SCORE_MAXIMUMS.talent.verification),
  profile_completion: points(SCORE_MAXIMUMS.talent.profile_completion),
  details: Type.Object({
    account_tier: Type.String(),
    verification: Type.String(),
    profile_completion: Type.String(),
  }),
  improvement_tips: Type.Array(Type.String()),
});

export const BackgroundProfileResponse = Type.Object({
  profile: BackgroundProfileSchema,
  profile_score: BackgroundScoreSchema,
  subscription_status: SubscriptionStatusSchema,
  restrictions: BackgroundRestrictionsSchema,
  /** The background gallery (additive: the live app reads `media` after an upload). */
  media: ProfileGalleryList,
});

export const TalentProfileResponse = Type.Object({
  ...liveTalentFields,
  ...LiveTalentExtras,
  profile: TalentProfileSchema,
  profile_score: TalentScoreSchema,
  subscription_status: SubscriptionStatusSchema,
  restrictions: TalentRestrictionsSchema,
});

export const BackgroundUpdateResponse = Type.Object({ message: Type.String(), profile: BackgroundProfileSchema });
export const TalentUpdateResponse = Type.Object({ message: Type.String(), profile: TalentProfileSchema });

const PictureFile = Type.String({
  format: 'binary',
  description:
    'The picture (multipart file): JPEG, PNG, GIF, WebP or AVIF, at most MAX_IMAGE_SIZE. Sent empty (or JSON null): removes the picture.',
});

// Documentation of what POST accepts (JSON, form or multipart); the service validates it.
export const BackgroundUpdateBody = Type.Partial(Type.Object({ profile_picture: PictureFile, ...BACKGROUND_FIELDS }));
export const TalentUpdateBody = Type.Partial(Type.Object({ profile_picture: PictureFile, ...TALENT_FIELDS }));
export const PROFILE_CONSUMES = ['multipart/form-data', 'application/json', 'application/x-www-form-urlencoded'];

export { BackgroundRestrictionsSchema, SubscriptionStatusSchema, TalentRestrictionsSchema };

export const UploadLimits = Type.Object({
  ...FileLimitsSchema.properties,
  image_max_dimension: Type.Integer({ description: 'MAX_IMAGE_DIMENSION: the longest side a stored picture keeps.', examples: [2048] }),
});

/** PUT /api/profile/<kind>/picture-focus/: a point or a rectangle in the picture's own pixels. */
export const PictureFocusBody = Type.Object(
  {
    x: Type.Integer({ minimum: 0, maximum: 100_000, examples: [612] }),
    y: Type.Integer({ minimum: 0, maximum: 100_000, examples: [380] }),
    width: Type.Optional(Type.Integer({ minimum: 0, maximum: 100_000, examples: [420] })),
    height: Type.Optional(Type.Integer({ minimum: 0, maximum: 100_000, examples: [480] })),
  },
  { additionalProperties: false },
);
