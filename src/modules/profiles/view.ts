import type { Static } from 'typebox';
import type { FileLimitsSchema } from '../common.js';
import { pictureInfoView } from '../media/pictures.js';
import { talentGalleryLimits } from '../gallery/limits.js';
import { galleryItemView } from '../gallery/view.js';
import { socialLinksView } from '../social/view.js';
import { TALENT_COMPLETION_MAX } from './score.js';
import type { BackgroundProfile, Profile, TalentProfile } from './service.js';

/** Turns a stored media name into the absolute URL clients load. */
export type UrlFor = (name: string) => string;

/** The upload limits the live service tells its clients (file_limits). */
export type FileLimits = Static<typeof FileLimitsSchema>;

/** The fields both profiles show (the response schema fixes their order). */
function commonFields(profile: Profile, urlFor: UrlFor) {
  const { user, record } = profile;
  return {
    id: record.userId,
    email: user.email,
    username: user.email,
    email_verified: user.emailVerified,
    profile_picture: record.profilePicture ? urlFor(record.profilePicture) : null,
    profile_picture_info: record.profilePicture ? pictureInfoView(record.picture, urlFor) : null,
    country: record.country,
    date_of_birth: record.dateOfBirth,
    gender: record.gender,
    account_type: profile.accountType,
    profile_score: profile.score.total,
  };
}

/** The live serializers' account fields, which the live web app shows (its name) and edits. */
function accountFields(user: Profile['user']) {
  return {
    first_name: user.firstName,
    last_name: user.lastName,
    full_name: [user.firstName, user.lastName].filter(Boolean).join(' '),
    residency: user.residency ?? '',
  };
}

function backgroundFields(profile: BackgroundProfile, urlFor: UrlFor) {
  return { ...commonFields(profile, urlFor), ...accountFields(profile.user) };
}

function talentFields(profile: TalentProfile, urlFor: UrlFor) {
  const { user, record, score } = profile;
  return {
    ...commonFields(profile, urlFor),
    aboutyou: record.aboutyou,
    city: record.city,
    phone: record.phone,
    is_verified: user.emailVerified,
    profile_complete: score.profile_completion === TALENT_COMPLETION_MAX,
    ...accountFields(user),
  };
}

/** The `profile` object of every profile response. */
export function profileFields(profile: Profile, urlFor: UrlFor) {
  return profile.kind === 'talent' ? talentFields(profile, urlFor) : backgroundFields(profile, urlFor);
}

/** How a view shows the gallery; a profile read leaves it out and appends galleryJson's text instead. */
export type MediaViews = (profile: Profile) => ReturnType<typeof galleryItemView>[];
const itemViews =
  (urlFor: UrlFor): MediaViews =>
  (profile) =>
    profile.media.map((row) => galleryItemView(row, urlFor, profile.asOf));

export function backgroundProfileView(profile: BackgroundProfile, urlFor: UrlFor, media: MediaViews = itemViews(urlFor)) {
  return {
    profile: backgroundFields(profile, urlFor),
    profile_score: profile.score,
    subscription_status: profile.subscriptionStatus,
    restrictions: profile.restrictions,
    media: media(profile),
  };
}

/** What the live service's account types allow a talent (its TalentUserProfile limits), and what is used. */
function talentLimitations(accountType: string, media: TalentProfile['media']) {
  const { images, videos } = talentGalleryLimits(accountType);
  const used = (type: string) => media.filter((row) => row.media_type === type && !row.is_test_video).length;
  const paid = accountType === 'premium' || accountType === 'platinum';
  return {
    images_used: used('image'),
    images_limit: images,
    images_remaining: Math.max(0, images - used('image')),
    videos_used: used('video'),
    videos_limit: videos,
    videos_remaining: Math.max(0, videos - used('video')),
    can_advanced_search: paid,
    can_priority_support: paid,
    can_custom_url: accountType === 'platinum',
    can_featured_placement: accountType === 'platinum',
  };
}

function upgradePrompt(accountType: string) {
  if (accountType === 'platinum') return null;
  return {
    message: accountType === 'free' ? 'Upgrade to unlock more features!' : 'Upgrade to Platinum for maximum visibility!',
    upgrade_url: '/pricing',
  };
}

/**
 * The talent profile in both shapes: castfolio's (profile, profile_score, subscription_status,
 * restrictions) and the live service's (the profile's fields at the top level, plus
 * social_media_links, media, file_limits, account_limitations, upgrade_prompt).
 */
export function talentProfileView(profile: TalentProfile, urlFor: UrlFor, fileLimits: FileLimits, media: MediaViews = itemViews(urlFor)) {
  const fields = talentFields(profile, urlFor);
  const { profile_score: _total, ...topLevel } = fields;
  const social = profile.record.social;
  return {
    ...topLevel,
    social_media_links: social ? socialLinksView(profile.user.id, social) : {},
    media: media(profile),
    file_limits: fileLimits,
    account_limitations: talentLimitations(profile.accountType, profile.media),
    upgrade_prompt: upgradePrompt(profile.accountType),
    profile: fields,
    profile_score: profile.score,
    subscription_status: profile.subscriptionStatus,
    restrictions: profile.restrictions,
  };
}
