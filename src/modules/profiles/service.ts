import type { TSchema } from 'typebox';
import { Type } from 'typebox';
import { ApiError, validationError, type FieldErrors } from '../../errors.js';
import { asDictionary, compileInput, NON_FIELD_ERRORS } from '../../validation.js';
import type { UserRecord, UserRepository } from '../accounts/repository.js';
import { birthDateProblem, trimStrings } from '../common.js';
import type { SubscriptionRecord, SubscriptionRepository } from '../subscriptions/repository.js';
import {
  accountTypeFor,
  backgroundRestrictionsFor,
  subscriptionStatusFor,
  talentRestrictions,
} from '../subscriptions/service.js';
import type { FastifyBaseLogger } from 'fastify';
import type { MediaService, UploadedFile } from '../media/service.js';
import { MEDIA_FOLDERS } from '../../storage/names.js';
import type {
  BackgroundProfileRecord,
  BackgroundProfileView,
  ProfileRepository,
  ProfileTable,
  TalentProfilePatch,
  TalentProfileRecord,
} from './repository.js';
import { socialLinksView } from '../social/view.js';
import { BACKGROUND_FIELDS, TALENT_FIELDS } from './schemas.js';
import { backgroundScore, talentScore, TALENT_COMPLETION_MAX } from './score.js';

/** Turns a stored media key into the absolute URL clients load; `origin` is the request's own. */
export type PublicUrl = (key: string, origin: string) => string;

export interface ProfileServiceDeps {
  profiles: ProfileRepository;
  subscriptions: SubscriptionRepository;
  media: MediaService;
  clock: () => Date;
  publicUrl: PublicUrl;
  /** Writes the names and residency a talent update may carry (they live on the user). */
  users: Pick<UserRepository, 'updateNames'>;
  /** The upload limits the live service tells its clients (file_limits). */
  fileLimits: { image_max_mb: number; video_max_mb: number };
}

/** The user's own fields the live talent update accepts beside the profile's (email is not one: see README). */
const USER_FIELDS = {
  first_name: Type.String({ minLength: 1, maxLength: 150 }),
  last_name: Type.String({ minLength: 1, maxLength: 150 }),
  residency: Type.String({ maxLength: 100 }),
};
const validateUserFields = compileInput(Type.Partial(Type.Object(USER_FIELDS)));

/** first_name, last_name and residency of a talent update; an empty residency clears it, empty names are refused. */
function parseUserFields(body: unknown): Partial<{ first_name: string; last_name: string; residency: string | null }> {
  const input = trimStrings(body !== null && typeof body === 'object' && !Array.isArray(body) ? body : {}) as Record<string, unknown>;
  const present = Object.fromEntries(Object.keys(USER_FIELDS).filter((k) => Object.hasOwn(input, k)).map((k) => [k, input[k]]));
  const clearsResidency = present.residency === '' || present.residency === null;
  if (clearsResidency) delete present.residency;
  const parsed = validateUserFields(present) as Partial<{ first_name: string; last_name: string; residency: string | null }>;
  return clearsResidency ? { ...parsed, residency: null } : parsed;
}

/** What the live service's account types allow a talent (its TalentUserProfile limits); no media stored yet. */
function talentLimitations(accountType: string) {
  const images = ({ free: 1, premium: 4, platinum: 6 } as Record<string, number>)[accountType] ?? 0;
  const videos = ({ free: 0, premium: 2, platinum: 4 } as Record<string, number>)[accountType] ?? 0;
  const paid = accountType === 'premium' || accountType === 'platinum';
  return {
    images_used: 0,
    images_limit: images,
    images_remaining: images,
    videos_used: 0,
    videos_limit: videos,
    videos_remaining: videos,
    can_advanced_search: paid,
    can_priority_support: paid,
    can_custom_url: accountType === 'platinum',
    can_featured_placement: accountType === 'platinum',
  };
}

export const NO_FIELDS_MESSAGE = 'At least one field must be provided for update.';
export const PICTURE_FIELD = 'profile_picture';
const NOT_A_FILE = 'The submitted data was not a file. Check the encoding type on the form.';

/** A profile update as received: the parsed body and any uploaded file. */
export interface ProfileForm {
  body: unknown;
  files: Record<string, UploadedFile>;
}

type Kind = 'background' | 'talent';

const KINDS: Record<Kind, { table: ProfileTable; folder: string; message: string }> = {
  background: {
    table: 'background_profiles',
    folder: MEDIA_FOLDERS.backgroundProfilePictures,
    message: 'Background profile updated successfully',
  },
  talent: { table: 'talent_profiles', folder: MEDIA_FOLDERS.profilePictures, message: 'Profile updated successfully' },
};

type PictureChange = { kind: 'keep' } | { kind: 'clear' } | { kind: 'replace'; file: UploadedFile };

/** profile_picture: a file replaces, an empty value (or JSON null) removes, anything else is refused. */
function pictureChange(body: unknown, files: Record<string, UploadedFile>): PictureChange {
  const file = files[PICTURE_FIELD];
  if (file) return { kind: 'replace', file };
  if (body !== null && typeof body === 'object' && Object.hasOwn(body, PICTURE_FIELD)) {
    const value = (body as Record<string, unknown>)[PICTURE_FIELD];
    if (value === '' || value === null) return { kind: 'clear' };
    throw validationError({ [PICTURE_FIELD]: [NOT_A_FILE] });
  }
  return { kind: 'keep' };
}

type FieldSchemas = Record<string, TSchema>;

/**
 * Validates a profile update: empty strings and nulls clear a field, everything else must match
 * its schema; unknown and read-only fields are ignored as DRF does.
 */
function profileUpdateParser(fields: FieldSchemas) {
  const validate = compileInput(Type.Partial(Type.Object(fields)));
  const names = Object.keys(fields);

  return (body: unknown, partial: boolean, now: Date, extraProvided: string[] = []): Record<string, string | null> => {
    const input = trimStrings(asDictionary(body)) as Record<string, unknown>;
    const patch: Record<string, string | null> = {};
    const toValidate: Record<string, unknown> = {};
    for (const name of names) {
      if (!Object.hasOwn(input, name)) continue;
      const value = input[name];
      if (value === '' || value === null) patch[name] = null;
      else toValidate[name] = value;
    }

    const errors: FieldErrors = {};
    if (!partial) {
      for (const name of names) if (!Object.hasOwn(input, name)) errors[name] = ['This field is required.'];
    }
    try {
      Object.assign(patch, validate(toValidate));
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      Object.assign(errors, error.body);
    }
    const dob = patch.date_of_birth;
    if (typeof dob === 'string' && !errors.date_of_birth) {
      const problem = birthDateProblem(dob, now);
      if (problem) errors.date_of_birth = [problem];
    }
    if (Object.keys(errors).length > 0) throw validationError(errors);
    if (Object.keys(patch).length === 0 && extraProvided.length === 0) {
      throw validationError({ [NON_FIELD_ERRORS]: [NO_FIELDS_MESSAGE] });
    }
    return patch;
  };
}

const parseBackgroundUpdate = profileUpdateParser(BACKGROUND_FIELDS);
const parseTalentUpdate = profileUpdateParser(TALENT_FIELDS);

export class ProfileService {
  constructor(private readonly deps: ProfileServiceDeps) {}

  private now(): Date {
    return this.deps.clock();
  }

  private async loadBackground(user: UserRecord): Promise<BackgroundProfileView> {
    const now = this.now().toISOString();
    const found = await this.deps.profiles.findBackground(user.id, now);
    if (found) return found;
    await this.deps.profiles.ensureProfile('background_profiles', user.id, now);
    return (await this.deps.profiles.findBackground(user.id, now)) as BackgroundProfileView;
  }

  private async loadTalent(user: UserRecord): Promise<TalentProfileRecord> {
    const now = this.now().toISOString();
    const found = await this.deps.profiles.findTalent(user.id, now);
    if (found) return found;
    await this.deps.profiles.ensureProfile('talent_profiles', user.id, now);
    return (await this.deps.profiles.findTalent(user.id, now)) as TalentProfileRecord;
  }

  private activeSubscription(userId: number): Promise<SubscriptionRecord | undefined> {
    return this.deps.subscriptions.findActive(userId, this.now().toISOString());
  }

  private pictureUrl(name: string | null, origin: string): string | null {
    return name ? this.deps.publicUrl(name, origin) : null;
  }

  /** Two queries per profile read whatever the data: the user (authentication) and this one. */
  private async backgroundParts(user: UserRecord, origin: string) {
    const record = await this.loadBackground(user);
    const subscription = record.subscription;
    const accountType = accountTypeFor('background', subscription);
    const itemCount = [...record.itemCounts.values()].reduce((sum, n) => sum + n, 0);
    const score = backgroundScore({ accountType, ...record, itemTypes: [...record.itemCounts.keys()], itemCount });
    const profile = this.commonProfile(user, record, accountType, score.total, origin);
    return { profile, score, subscription };
  }

  /** The fields both profiles show (the response schema fixes their order). */
  private commonProfile(user: UserRecord, record: BackgroundProfileRecord, accountType: string, total: number, origin: string) {
    return {
      id: record.userId,
      email: user.email,
      username: user.email,
      email_verified: user.emailVerified,
      profile_picture: this.pictureUrl(record.profilePicture, origin),
      country: record.country,
      date_of_birth: record.dateOfBirth,
      gender: record.gender,
      account_type: accountType,
      profile_score: total,
    };
  }

  async background(user: UserRecord, origin: string) {
    const { profile, score, subscription } = await this.backgroundParts(user, origin);
    return {
      profile,
      profile_score: score,
      subscription_status: subscriptionStatusFor('background', subscription, this.now()),
      restrictions: backgroundRestrictionsFor(subscription),
    };
  }

  private async talentParts(user: UserRecord, origin: string) {
    const record = await this.loadTalent(user);
    const subscription = record.subscription;
    const accountType = accountTypeFor('talent', subscription);
    const score = talentScore({ accountType, ...record, emailVerified: user.emailVerified, hasPicture: record.profilePicture !== null });
    const profile = {
      ...this.commonProfile(user, record, accountType, score.total, origin),
      aboutyou: record.aboutyou,
      city: record.city,
      phone: record.phone,
      is_verified: user.emailVerified,
      profile_complete: score.profile_completion === TALENT_COMPLETION_MAX,
      // The live serializer's user fields, which the live web app's profile form reads.
      first_name: user.firstName,
      last_name: user.lastName,
      full_name: [user.firstName, user.lastName].filter(Boolean).join(' '),
      residency: user.residency ?? '',
    };
    return { profile, score, subscription, social: record.social, accountType };
  }

  /**
   * The talent profile in both shapes: castfolio's (profile, profile_score, subscription_status,
   * restrictions) and the live service's (the profile's fields at the top level, plus
   * social_media_links, media, file_limits, account_limitations, upgrade_prompt).
   */
  async talent(user: UserRecord, origin: string) {
    const { profile, score, subscription, social, accountType } = await this.talentParts(user, origin);
    const { profile_score: _total, ...fields } = profile;
    return {
      ...fields,
      social_media_links: social ? socialLinksView(user.id, social) : {},
      media: [],
      file_limits: this.deps.fileLimits,
      account_limitations: talentLimitations(accountType),
      upgrade_prompt: accountType === 'platinum' ? null : { message: accountType === 'free' ? 'Upgrade to unlock more features!' : 'Upgrade to Platinum for maximum visibility!', upgrade_url: '/pricing' },
      profile,
      profile_score: score,
      subscription_status: subscriptionStatusFor('talent', subscription, this.now()),
      restrictions: talentRestrictions(),
    };
  }

  /**
   * Fields and picture change together or not at all. Order: validate everything, store the new
   * object, commit (which queues the old object), then delete the old object. A failed commit
   * deletes the new object; a failed delete stays queued for the retry worker.
   */
  private async update(kind: Kind, user: UserRecord, form: ProfileForm, partial: boolean, log: FastifyBaseLogger, extra: string[] = []): Promise<void> {
    const parse = kind === 'background' ? parseBackgroundUpdate : parseTalentUpdate;
    const picture = pictureChange(form.body, form.files);
    const patch = parse(form.body, partial, this.now(), picture.kind === 'keep' ? extra : [...extra, PICTURE_FIELD]) as TalentProfilePatch;
    const { table, folder } = KINDS[kind];

    // Both writes create the profile row of a user who has none yet.
    if (picture.kind === 'keep') {
      await this.deps.profiles.updateFields(table, user.id, patch, this.now().toISOString());
      return;
    }

    const stored = picture.kind === 'replace' ? await this.deps.media.storeImage(picture.file, folder, user.id, PICTURE_FIELD, log) : undefined;
    let replaced: string | null;
    try {
      replaced = await this.deps.profiles.applyPicture(table, user.id, patch, stored?.name ?? null, this.now().toISOString());
    } catch (error) {
      if (stored) await this.deps.media.discard(stored.name, log);
      throw error;
    }
    if (replaced) await this.deps.media.purge([replaced], log);
    log.info({ userId: user.id, oldKey: replaced, newKey: stored?.name ?? null }, stored ? 'profile picture replaced' : 'profile picture removed');
  }

  async updateBackground(user: UserRecord, form: ProfileForm, partial: boolean, origin: string, log: FastifyBaseLogger) {
    await this.update('background', user, form, partial, log);
    const { profile } = await this.backgroundParts(user, origin);
    return { message: KINDS.background.message, profile };
  }

  async updateTalent(user: UserRecord, form: ProfileForm, partial: boolean, origin: string, log: FastifyBaseLogger) {
    const names = parseUserFields(form.body);
    await this.update('talent', user, form, partial, log, Object.keys(names));
    await this.deps.users.updateNames(user.id, names, this.now().toISOString());
    const updated: UserRecord = {
      ...user,
      ...(names.first_name === undefined ? {} : { firstName: names.first_name }),
      ...(names.last_name === undefined ? {} : { lastName: names.last_name }),
      ...(names.residency === undefined ? {} : { residency: names.residency }),
    };
    const { profile } = await this.talentParts(updated, origin);
    return { message: KINDS.talent.message, profile };
  }

  /** DELETE on the profile URL removes the picture (the profile itself stays). */
  async removeBackgroundPicture(user: UserRecord, origin: string, log: FastifyBaseLogger) {
    await this.update('background', user, { body: { [PICTURE_FIELD]: null }, files: {} }, true, log);
    const { profile } = await this.backgroundParts(user, origin);
    return { message: 'Profile picture removed', profile };
  }

  async removeTalentPicture(user: UserRecord, origin: string, log: FastifyBaseLogger) {
    await this.update('talent', user, { body: { [PICTURE_FIELD]: null }, files: {} }, true, log);
    const { profile } = await this.talentParts(user, origin);
    return { message: 'Profile picture removed', profile };
  }

  async backgroundSubscriptionStatus(user: UserRecord) {
    return subscriptionStatusFor('background', await this.activeSubscription(user.id), this.now());
  }

  async backgroundRestrictions(user: UserRecord) {
    return backgroundRestrictionsFor(await this.activeSubscription(user.id));
  }
}
