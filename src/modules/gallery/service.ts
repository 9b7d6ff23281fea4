import { ApiError, notFound, validationError } from '../../errors.js';
import { readUploadSlice, type UploadedFile } from '../../http/multipart.js';
import { containerOfHead } from '../../video/ffmpeg.js';
import type { UserRecord } from '../accounts/repository.js';
import { headshotReminderMail } from '../mail/templates.js';
import type { MediaChanges } from '../media/changes.js';
import { sizeLimitMessage } from '../media/ingest.js';
import { MEDIA_FOLDERS } from '../media/references.js';
import type { SubscriptionRepository } from '../subscriptions/repository.js';
import { accountTypeFor, backgroundRestrictionsFor } from '../subscriptions/service.js';
import { MEDIA_FIELD, type GalleryInput, type GalleryPatch } from './input.js';
import { backgroundGalleryLimits, talentGalleryLimits, type GalleryLimits } from './limits.js';
import {
  GalleryLimitError,
  GalleryRuleError,
  type GalleryKind,
  type GalleryRepository,
  type GalleryRow,
  type MediaType,
} from './repository.js';
import { STALE_AFTER_DAYS } from './view.js';

export const NOT_FOUND_MESSAGE = 'No TalentMedia matches the given query.';
const DAY_MS = 86_400_000;

/**
 * A profile's gallery (the live service's talent media): photos go through the same pipeline as
 * profile pictures, videos through ffprobe/ffmpeg (MediaIngest.storeVideo); each change is one
 * transaction, and the files a change drops go after the commit.
 */
export class GalleryService {
  constructor(
    private readonly deps: {
      gallery: GalleryRepository;
      subscriptions: SubscriptionRepository;
      media: MediaChanges;
      clock: () => Date;
      limits: { imageBytes: number; videoBytes: number };
      mail: { appName: string; webUrl: () => string };
    },
  ) {}

  list(kind: GalleryKind, user: UserRecord): Promise<GalleryRow[]> {
    return this.deps.gallery.list(user.id, kind);
  }

  /** Another user's public items, in their order. */
  listPublic(userId: number): Promise<GalleryRow[]> {
    return this.deps.gallery.listPublic(userId);
  }

  /** The plan's allowance and its name, as the limit errors state them. */
  private async allowance(kind: GalleryKind, user: UserRecord): Promise<{ limits: GalleryLimits; accountType: string }> {
    const subscription = await this.deps.subscriptions.findActive(user.id, this.deps.clock().toISOString());
    if (kind === 'talent') {
      const accountType = accountTypeFor('talent', subscription);
      return { limits: talentGalleryLimits(accountType), accountType };
    }
    const restrictions = backgroundRestrictionsFor(subscription);
    if (restrictions.restricted) throw new ApiError(403, { error: 'Subscription required', message: restrictions.message, restrictions });
    return { limits: backgroundGalleryLimits(true), accountType: accountTypeFor('background', subscription) };
  }

  private limitReached(accountType: string, type: MediaType, used: number, limit: number): ApiError {
    return new ApiError(400, {
      error: `Upload limit reached for your ${accountType.toUpperCase()} account.`,
      details: `Your ${accountType} account allows ${limit} ${type}s. You already have ${used} ${type}s.`,
      account_type: accountType,
      upgrade_message: 'Upgrade your account to upload more media.',
    });
  }

  /** What the upload is and whether it may be added, decided before any image or video work. */
  private async admit(kind: GalleryKind, file: UploadedFile, input: GalleryInput): Promise<MediaType> {
    const type: MediaType = containerOfHead(await readUploadSlice(file, 0, 12)) === undefined ? 'image' : 'video';
    const { imageBytes, videoBytes } = this.deps.limits;
    const maxBytes = type === 'image' ? imageBytes : videoBytes;
    if (file.bytes > maxBytes) {
      throw new ApiError(413, { [MEDIA_FIELD]: [sizeLimitMessage(maxBytes, type === 'image' ? 'Image file' : 'Video file')] });
    }
    if (input.testVideo.isTestVideo) {
      if (type !== 'video') throw validationError({ is_test_video: ['Only a video can be a test video.'] });
      if (kind !== 'talent') throw validationError({ is_test_video: ['Test videos belong to talent profiles.'] });
    }
    if (input.slot !== null && type !== 'image') throw validationError({ slot: ['Only a photo can fill a casting slot.'] });
    return type;
  }

  /** Refused before any work when the gallery is full; checked again in the inserting transaction. */
  async add(kind: GalleryKind, user: UserRecord, input: GalleryInput): Promise<GalleryRow> {
    const { limits, accountType } = await this.allowance(kind, user);
    const type = await this.admit(kind, input.file, input);
    const limit = type === 'image' ? limits.images : limits.videos;
    const testVideo = input.testVideo.isTestVideo
      ? { number: input.testVideo.number, aboutYourself: input.testVideo.aboutYourself }
      : undefined;
    if (!testVideo) {
      const used = await this.deps.gallery.count(user.id, kind, type);
      if (used >= limit) throw this.limitReached(accountType, type, used, limit);
    }
    try {
      const { value } = await this.deps.media.apply(
        [{ file: input.file, kind: type, folder: MEDIA_FOLDERS.gallery, ownerId: user.id, field: MEDIA_FIELD }],
        async (stored, first) => {
          const file = stored[MEDIA_FIELD] as NonNullable<(typeof stored)[string]>;
          const row = await this.deps.gallery.addWithin(
            user.id,
            kind,
            {
              name: input.name,
              mediaInfo: input.mediaInfo,
              mediaType: type,
              file: file.name,
              thumbnail: file.poster ?? null,
              durationSeconds: file.durationSeconds ?? null,
              capturedAt: file.capturedAt ?? null,
              testVideo,
              slot: input.slot,
              tags: input.tags,
              visibility: input.visibility,
            },
            limit,
            this.deps.clock().toISOString(),
            first,
          );
          return { value: row, replaced: [] };
        },
      );
      return value;
    } catch (error) {
      if (error instanceof GalleryLimitError) throw this.limitReached(accountType, type, error.used, error.limit);
      if (error instanceof GalleryRuleError) throw validationError({ [error.field]: [error.message] });
      throw error;
    }
  }

  /** Changes an item's details or casting fields. */
  async update(kind: GalleryKind, user: UserRecord, id: number, patch: GalleryPatch): Promise<GalleryRow> {
    try {
      const row = await this.deps.gallery.update(user.id, kind, id, patch, this.deps.clock().toISOString());
      if (!row) throw notFound(NOT_FOUND_MESSAGE);
      return row;
    } catch (error) {
      if (error instanceof GalleryRuleError) throw validationError({ [error.field]: [error.message] });
      throw error;
    }
  }

  /** Puts the gallery in the given order, all at once. */
  async reorder(kind: GalleryKind, user: UserRecord, order: readonly number[]): Promise<GalleryRow[]> {
    const result = await this.deps.gallery.reorder(user.id, kind, order, this.deps.clock().toISOString());
    if (!result.ok) {
      throw validationError({
        order: [`Send every item of your gallery exactly once (your items: ${result.current.join(', ') || 'none'}).`],
      });
    }
    return this.deps.gallery.list(user.id, kind);
  }

  /** Makes a photo the profile picture and the headshot in one transaction; the picture it replaces goes after the commit. */
  async promote(kind: GalleryKind, user: UserRecord, id: number): Promise<GalleryRow> {
    const result = await this.deps.gallery.promote(user.id, kind, id, this.deps.clock().toISOString());
    if (result === 'not-found') throw notFound(NOT_FOUND_MESSAGE);
    if (result === 'no-profile') throw notFound('Profile not found.');
    if (result === 'not-a-photo') throw new ApiError(400, { detail: 'Only a photo can become your profile picture.' });
    this.deps.media.purgeCommitted(result.replaced);
    return result.row;
  }

  /** Deletes one of the user's own items (another user's is "not found"); its files go after the commit. */
  async remove(user: UserRecord, id: number): Promise<string[]> {
    const names = await this.deps.gallery.remove(user.id, id, this.deps.clock().toISOString());
    if (names === undefined) throw notFound(NOT_FOUND_MESSAGE);
    this.deps.media.purgeCommitted(names);
    return names;
  }

  /**
   * Queues one reminder mail per headshot taken more than six months ago (by its capture date, or
   * its upload date without one). Each headshot is reminded once; promoting a new one resets it.
   */
  async remindStaleHeadshots(batch = 200): Promise<number> {
    const now = this.deps.clock();
    const cutoff = new Date(now.getTime() - STALE_AFTER_DAYS * DAY_MS).toISOString();
    let sent = 0;
    for (const headshot of await this.deps.gallery.staleHeadshots(cutoff, batch)) {
      const mail = headshotReminderMail(this.deps.mail.appName, headshot.email, headshot.takenAt, now, this.deps.mail.webUrl());
      if (await this.deps.gallery.remind(headshot.id, mail, now.toISOString())) sent += 1;
    }
    return sent;
  }
}
