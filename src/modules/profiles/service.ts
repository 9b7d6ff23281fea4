import type { Role } from '../../auth/roles.js';
import { ApiError } from '../../errors.js';
import type { UserRecord, UserRepository } from '../accounts/repository.js';
import type { GalleryRepository, GalleryRow } from '../gallery/repository.js';
import type { MediaChanges, NewFile } from '../media/changes.js';
import { MEDIA_FOLDERS } from '../media/references.js';
import type { SubscriptionRecord, SubscriptionRepository } from '../subscriptions/repository.js';
import {
  accountTypeFor,
  backgroundRestrictionsFor,
  subscriptionStatusFor,
  talentRestrictions,
  type BackgroundRestrictions,
  type Restrictions,
  type SubscriptionStatus,
} from '../subscriptions/service.js';
import { PICTURE_FIELD, type ProfileChange } from './input.js';
import type { BackgroundProfileView, ProfileRepository, ProfileTable, TalentProfileRecord } from './repository.js';
import { backgroundScore, talentScore, type BackgroundScore, type TalentScore } from './score.js';

/** A profile as its owner sees it: the stored record with what follows from it. */
interface ProfileState<R, S, X extends Restrictions> {
  user: UserRecord;
  record: R;
  accountType: string;
  score: S;
  subscriptionStatus: SubscriptionStatus;
  restrictions: X;
  /** The profile's gallery, in the owner's order. */
  media: GalleryRow[];
  /** When this state was read (the gallery's "taken 8 months ago" is relative to it). */
  asOf: Date;
}
export type BackgroundProfile = ProfileState<BackgroundProfileView, BackgroundScore, BackgroundRestrictions> & { kind: 'background' };
export type TalentProfile = ProfileState<TalentProfileRecord, TalentScore, Restrictions> & { kind: 'talent' };
export type Profile<K extends Role = Role> = Extract<BackgroundProfile | TalentProfile, { kind: K }>;

/** A frame the performer sets on their picture, in the master's pixels (width and height 0: a point). */
export interface FocusInput {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** What an update did to the stored picture. */
export interface PictureOutcome {
  stored: string | null;
  replaced: string | null;
}

/** The two kinds of profile: where each is stored and how its state follows from its record. */
const KINDS: {
  [K in Role]: {
    table: ProfileTable;
    folder: string;
    state(user: UserRecord, record: Profile<K>['record'], now: Date, media: GalleryRow[]): Profile<K>;
  };
} = {
  background: {
    table: 'background_profiles',
    folder: MEDIA_FOLDERS.backgroundProfilePictures,
    state(user, record, now, media) {
      const accountType = accountTypeFor('background', record.subscription);
      const itemCount = [...record.itemCounts.values()].reduce((sum, n) => sum + n, 0);
      const score = backgroundScore({ accountType, ...record, itemTypes: [...record.itemCounts.keys()], itemCount });
      return {
        kind: 'background',
        user,
        record,
        accountType,
        score,
        subscriptionStatus: subscriptionStatusFor('background', record.subscription, now),
        restrictions: backgroundRestrictionsFor(record.subscription),
        media,
        asOf: now,
      };
    },
  },
  talent: {
    table: 'talent_profiles',
    folder: MEDIA_FOLDERS.profilePictures,
    state(user, record, now, media) {
      const accountType = accountTypeFor('talent', record.subscription);
      const score = talentScore({ accountType, ...record, emailVerified: user.emailVerified, hasPicture: record.profilePicture !== null });
      return {
        kind: 'talent',
        user,
        record,
        accountType,
        score,
        subscriptionStatus: subscriptionStatusFor('talent', record.subscription, now),
        restrictions: talentRestrictions(),
        media,
        asOf: now,
      };
    },
  },
};

export class ProfileService {
  constructor(
    private readonly deps: {
      profiles: ProfileRepository;
      subscriptions: SubscriptionRepository;
      gallery: Pick<GalleryRepository, 'listFor'>;
      /** Writes the names and residency a talent update may carry (they live on the user). */
      users: Pick<UserRepository, 'updateNames'>;
      media: MediaChanges;
      clock: () => Date;
    },
  ) {}

  /** The user's profile of one kind; a user without one (e.g. made by the CLI) gets an empty one. */
  async read<K extends Role>(kind: K, user: UserRecord): Promise<Profile<K>> {
    const now = () => this.deps.clock().toISOString();
    const find = () =>
      kind === 'talent' ? this.deps.profiles.findTalent(user.id, now()) : this.deps.profiles.findBackground(user.id, now());
    const [found, media] = await Promise.all([find(), this.deps.gallery.listFor(user, kind)]);
    let record = found;
    if (!record) {
      await this.deps.profiles.ensureProfile(KINDS[kind].table, user.id, now());
      record = await find();
    }
    const state = KINDS[kind].state as (user: UserRecord, record: unknown, now: Date, media: GalleryRow[]) => Profile<K>;
    return state(user, record, this.deps.clock(), media);
  }

  /**
   * Fields, names and picture change together or not at all: the picture is stored first, the
   * fields and the picture's name committed in one transaction (which queues the picture it
   * replaces), and only then is the old picture deleted (MediaChanges).
   */
  async update<K extends Role>(
    kind: K,
    user: UserRecord,
    change: ProfileChange,
  ): Promise<{ profile: Profile<K>; picture: PictureOutcome }> {
    const { table, folder } = KINDS[kind];
    const now = () => this.deps.clock().toISOString();
    let picture: PictureOutcome = { stored: null, replaced: null };
    if (change.picture.kind === 'keep') {
      // Creates the profile row of a user who has none yet.
      await this.deps.profiles.updateFields(table, user.id, change.patch, now());
    } else {
      const files: NewFile[] =
        change.picture.kind === 'replace'
          ? [{ file: change.picture.file, kind: 'image', folder, ownerId: user.id, field: PICTURE_FIELD }]
          : [];
      const result = await this.deps.media.apply(files, async (stored, first) => {
        const name = stored[PICTURE_FIELD]?.name ?? null;
        const replaced = await this.deps.profiles.applyPicture(table, user.id, change.patch, name, now(), first);
        return { value: name, replaced: replaced ? [replaced] : [] };
      });
      picture = { stored: result.value, replaced: result.replaced[0] ?? null };
    }
    let owner = user;
    if (Object.keys(change.names).length > 0) {
      await this.deps.users.updateNames(user.id, change.names, now());
      const { first_name, last_name, residency } = change.names;
      owner = {
        ...user,
        ...(first_name === undefined ? {} : { firstName: first_name }),
        ...(last_name === undefined ? {} : { lastName: last_name }),
        ...(residency === undefined ? {} : { residency }),
      };
    }
    return { profile: await this.read(kind, owner), picture };
  }

  /**
   * Re-frames the picture's variants around `focus` (a point or a rectangle in the master's pixels),
   * or around its face again when `focus` is null. The master is unchanged; the variants get new names.
   */
  async reframe<K extends Role>(kind: K, user: UserRecord, focus: FocusInput | null): Promise<Profile<K>> {
    const profile = await this.read(kind, user);
    const { profilePicture: name, picture } = profile.record;
    if (!name) throw new ApiError(400, { profile_picture: ['There is no picture to frame. Upload one first.'] });
    if (!picture) {
      throw new ApiError(400, {
        profile_picture: ['This picture was stored before variants existed; it can be framed once `media backfill` has run.'],
      });
    }
    const errors: Record<string, string[]> = {};
    if (focus) {
      if (focus.x + focus.width > picture.width) errors.x = [`x + width must be at most the picture's width, ${picture.width}.`];
      if (focus.y + focus.height > picture.height) errors.y = [`y + height must be at most the picture's height, ${picture.height}.`];
      if ((focus.width === 0) !== (focus.height === 0)) errors.width = ['Give both width and height (a rectangle), or neither (a point).'];
    }
    if (Object.keys(errors).length > 0) throw new ApiError(400, errors);
    const master = { name, folder: KINDS[kind].folder, ownerId: user.id };
    const done = await this.deps.media.reframe(master, picture, focus ? { ...focus, source: 'user' } : null);
    if (!done) throw new ApiError(409, { detail: 'The picture changed while it was being framed. Please try again.' });
    return this.read(kind, user);
  }

  /** Removes the picture (the profile itself stays). */
  removePicture<K extends Role>(kind: K, user: UserRecord) {
    return this.update(kind, user, { patch: {}, names: {}, picture: { kind: 'clear' } });
  }

  private activeSubscription(userId: number): Promise<SubscriptionRecord | undefined> {
    return this.deps.subscriptions.findActive(userId, this.deps.clock().toISOString());
  }

  async backgroundSubscriptionStatus(user: UserRecord): Promise<SubscriptionStatus> {
    return subscriptionStatusFor('background', await this.activeSubscription(user.id), this.deps.clock());
  }

  async backgroundRestrictions(user: UserRecord) {
    return backgroundRestrictionsFor(await this.activeSubscription(user.id));
  }
}
