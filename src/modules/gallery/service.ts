import { ApiError, notFound, validationError } from '../../errors.js';
import type { UserRecord } from '../accounts/repository.js';
import type { MediaChanges } from '../media/changes.js';
import { MEDIA_FOLDERS } from '../media/references.js';
import type { SubscriptionRepository } from '../subscriptions/repository.js';
import { accountTypeFor, backgroundRestrictionsFor } from '../subscriptions/service.js';
import { looksLikeVideo, MEDIA_FIELD, type GalleryInput } from './input.js';
import { backgroundGalleryLimits, talentGalleryLimits, type GalleryLimits } from './limits.js';
import { GalleryLimitError, type GalleryKind, type GalleryRepository, type GalleryRow } from './repository.js';

const NO_VIDEOS_YET = 'Video uploads are not available yet: upload a photo (JPEG, PNG, GIF, WebP or AVIF).';

/**
 * A profile's gallery (the live service's talent media): photos go through the same pipeline as
 * profile pictures; each change is one transaction, and a deleted item's file goes after the commit.
 */
export class GalleryService {
  constructor(
    private readonly deps: {
      gallery: GalleryRepository;
      subscriptions: SubscriptionRepository;
      media: MediaChanges;
      clock: () => Date;
    },
  ) {}

  list(kind: GalleryKind, user: UserRecord): Promise<GalleryRow[]> {
    return this.deps.gallery.list(user.id, kind);
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

  private limitReached(accountType: string, used: number, limit: number): ApiError {
    return new ApiError(400, {
      error: `Upload limit reached for your ${accountType.toUpperCase()} account.`,
      details: `Your ${accountType} account allows ${limit} images. You already have ${used} images.`,
      account_type: accountType,
      upgrade_message: 'Upgrade your account to upload more media.',
    });
  }

  /** Refused before any work when the gallery is full; checked again in the inserting transaction. */
  async add(kind: GalleryKind, user: UserRecord, input: GalleryInput): Promise<GalleryRow> {
    const { limits, accountType } = await this.allowance(kind, user);
    const used = await this.deps.gallery.count(user.id, kind, 'image');
    if (used >= limits.images) throw this.limitReached(accountType, used, limits.images);
    if (await looksLikeVideo(input.file)) throw validationError({ [MEDIA_FIELD]: [NO_VIDEOS_YET] });
    try {
      const { value } = await this.deps.media.apply(
        [{ file: input.file, kind: 'image', folder: MEDIA_FOLDERS.gallery, ownerId: user.id, field: MEDIA_FIELD }],
        async (stored) => ({
          value: await this.deps.gallery.addWithin(
            user.id,
            kind,
            { name: input.name, mediaInfo: input.mediaInfo, mediaType: 'image', file: (stored[MEDIA_FIELD] as { name: string }).name },
            limits.images,
            this.deps.clock().toISOString(),
          ),
          replaced: [],
        }),
      );
      return value;
    } catch (error) {
      if (error instanceof GalleryLimitError) throw this.limitReached(accountType, error.used, error.limit);
      throw error;
    }
  }

  /** Deletes one of the user's own items (another user's is "not found"); its file goes after the commit. */
  async remove(user: UserRecord, id: number): Promise<string> {
    const file = await this.deps.gallery.remove(user.id, id, this.deps.clock().toISOString());
    if (file === undefined) throw notFound('No TalentMedia matches the given query.');
    await this.deps.media.purgeCommitted([file]);
    return file;
  }
}
