import type { Insertable, Kysely, Transaction } from 'kysely';
import type { Dialect } from '../../db/index.js';
import { PreparedQuery, preparedPerDialect } from '../../db/prepared.js';
import type { Database, PicturesTable } from '../../db/types.js';
import { ApiError, userNotFound } from '../../errors.js';
import type { PictureAnalysis } from '../../images/analysis.js';
import { pictureFromColumns, type PictureDetails } from './pictures.js';
import { isReferenced, referencedNames, variantNamesIn, type StoredVariant } from './references.js';

/**
 * Rows with what is known of their picture (`picture`: size, placeholder, variants; null when none
 * is recorded), read in one query for all of them.
 */
export async function withPictures<R extends object>(
  db: Kysely<Database>,
  rows: readonly R[],
  nameOf: (row: R) => string | null,
): Promise<(R & { picture: PictureDetails | null })[]> {
  const names = [...new Set(rows.map(nameOf).filter((name): name is string => name !== null))];
  const found =
    names.length === 0
      ? []
      : await db
          .selectFrom('pictures')
          .select(['name', 'width', 'height', 'placeholder', 'variants', 'analysis'])
          .where('name', 'in', names)
          .execute();
  const byName = new Map(found.map((row) => [row.name, pictureFromColumns(row)]));
  return rows.map((row) => {
    const name = nameOf(row);
    return { ...row, picture: (name !== null && byName.get(name)) || null };
  });
}

/** One picture's row, unless a row of that name exists. */
const INSERT_PICTURE = preparedPerDialect(
  (db, row: Insertable<PicturesTable>) =>
    db
      .insertInto('pictures')
      .values(row)
      .onConflict((oc) => oc.column('name').doNothing()),
  ['name', 'user_id', 'width', 'height', 'placeholder', 'variant_set', 'variants', 'analysis', 'created_at'],
);

/**
 * Records what pictures are (size, placeholder, variants, analysis), in `db` or in the transaction
 * that makes them referenced; a picture already recorded stays as it is. One statement each (a
 * change brings one picture, or a few): each is compiled once, not built again per upload.
 */
async function insertPictures(
  db: Kysely<Database> | Transaction<Database>,
  dialect: Dialect,
  pictures: readonly PictureRecord[],
  now: string,
): Promise<void> {
  for (const picture of pictures) {
    await INSERT_PICTURE[dialect].run(db, {
      name: picture.name,
      user_id: picture.userId,
      width: picture.width,
      height: picture.height,
      placeholder: picture.placeholder,
      variant_set: picture.variantSet,
      variants: JSON.stringify(picture.variants),
      analysis: picture.analysis ? JSON.stringify(picture.analysis) : null,
      created_at: now,
    });
  }
}

/**
 * The lock every transaction that changes a user's files takes first, before any row of theirs:
 * FOR KEY SHARE on the user's row on PostgreSQL (SQLite's write transactions run one at a time).
 * An account deletion locks the row FOR UPDATE before it lists the account's files, so the two
 * never hold each other's rows (a removal holding a profile row while the deletion waits for it,
 * and the deletion's queued name the removal waits for, was a deadlock) and a change either
 * commits before the files are listed or finds the account gone. `exclusive`: FOR UPDATE, which
 * also makes such changes of the same user wait for each other (the gallery's, which renumber and
 * count its items). False when the account is gone.
 */
export async function holdUser(trx: Transaction<Database>, dialect: Dialect, userId: number, { exclusive = false } = {}): Promise<boolean> {
  const hold = dialect === 'sqlite' ? HOLD.sqlite : exclusive ? HOLD.update : HOLD.share;
  return (await hold.run(trx, { userId })).length > 0;
}

const holdQuery = (lock?: 'share' | 'update') =>
  new PreparedQuery(
    (db, args: { userId: number }) =>
      db
        .selectFrom('users')
        .select('id')
        .where('id', '=', args.userId)
        .$if(lock === 'share', (qb) => qb.forKeyShare())
        .$if(lock === 'update', (qb) => qb.forUpdate()),
    ['userId'],
  );
/** SQLite's write transactions run one at a time: it takes no lock clause. */
const HOLD = { sqlite: holdQuery(), share: holdQuery('share'), update: holdQuery('update') };

/** holdUser for a change that brings new files: OwnerGoneError when the account is gone (they must not be kept). */
export async function holdOwner(trx: Transaction<Database>, dialect: Dialect, userId: number): Promise<void> {
  if (!(await holdUser(trx, dialect, userId))) throw new OwnerGoneError();
}

/**
 * The account a change's new files belong to was deleted while the change was being made: it
 * answers what the authentication would a moment later (401 user_not_found) wherever it is thrown;
 * MediaChanges.apply discards the change's new files first.
 */
export class OwnerGoneError extends ApiError {
  constructor() {
    const gone = userNotFound();
    super(gone.statusCode, gone.body, gone.headers);
    this.name = 'OwnerGoneError';
  }
}

/** Work a change runs first inside the transaction of its commit (recording its new pictures). */
export type InTransaction = (trx: Transaction<Database>) => Promise<void>;

/** One row with what is known of its picture (see withPictures). */
export async function withPicture<R extends object>(
  db: Kysely<Database>,
  row: R,
  nameOf: (row: R) => string | null,
): Promise<R & { picture: PictureDetails | null }> {
  return (await withPictures(db, [row], nameOf))[0]!;
}

/** A stored picture's row (see migration 0010). */
export interface PictureRecord {
  name: string;
  userId: number;
  width: number;
  height: number;
  placeholder: string | null;
  variantSet: string;
  variants: StoredVariant[];
  analysis: PictureAnalysis | null;
}

export interface PendingDeletion {
  name: string;
  attempts: number;
}

/** Records that `names` must be deleted from storage; call inside the transaction that dropped them. */
export async function enqueueDeletions(trx: Kysely<Database> | Transaction<Database>, names: string[], now: string): Promise<void> {
  if (names.length === 0) return;
  await trx
    .insertInto('pending_deletions')
    .values(names.map((name) => ({ name, attempts: 0, next_attempt_at: now, created_at: now })))
    .onConflict((oc) => oc.column('name').doNothing())
    .execute();
}

/**
 * enqueueDeletions of one name (the picture an upload replaced), with a statement compiled once
 * instead of built for every upload.
 */
export async function enqueueDeletion(trx: Transaction<Database>, dialect: Dialect, name: string, now: string): Promise<void> {
  await ENQUEUE_ONE[dialect].run(trx, { name, now });
}

const ENQUEUE_ONE = preparedPerDialect(
  (db, args: { name: string; now: string }) =>
    db
      .insertInto('pending_deletions')
      .values({ name: args.name, attempts: 0, next_attempt_at: args.now, created_at: args.now })
      .onConflict((oc) => oc.column('name').doNothing()),
  ['name', 'now'],
);

export class MediaRepository {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: Dialect,
  ) {}

  /**
   * A picture's recorded variants, its row locked for the rest of the transaction on PostgreSQL
   * (SQLite's write transactions run one at a time). A release and a re-framing's swap both read
   * the variants and then change the row: unlocked, a release could read the variants a swap was
   * replacing and then delete the row the swap had just pointed at new ones, leaving those stored
   * with nothing to name them.
   */
  private async lockedVariants(trx: Transaction<Database>, name: string): Promise<string[] | null> {
    const row = await trx
      .selectFrom('pictures')
      .select('variants')
      .where('name', '=', name)
      .$if(this.dialect === 'postgres', (qb) => qb.forUpdate())
      .executeTakeFirst();
    return row ? variantNamesIn(row.variants) : null;
  }

  enqueue(names: string[], now: string): Promise<void> {
    return enqueueDeletions(this.db, names, now);
  }

  async due(now: string, limit: number): Promise<PendingDeletion[]> {
    return this.db
      .selectFrom('pending_deletions')
      .select(['name', 'attempts'])
      .where('next_attempt_at', '<=', now)
      .orderBy('next_attempt_at')
      .limit(limit)
      .execute();
  }

  async all(): Promise<PendingDeletion[]> {
    return this.db.selectFrom('pending_deletions').select(['name', 'attempts']).orderBy('id').execute();
  }

  async count(): Promise<number> {
    const row = await this.db
      .selectFrom('pending_deletions')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  async done(...names: string[]): Promise<void> {
    if (names.length === 0) return;
    await this.db.deleteFrom('pending_deletions').where('name', 'in', names).execute();
  }

  async reschedule(name: string, attempts: number, nextAttemptAt: string, error: string): Promise<void> {
    await this.db
      .updateTable('pending_deletions')
      .set({ attempts, next_attempt_at: nextAttemptAt, last_error: error.slice(0, 1000) })
      .where('name', '=', name)
      .execute();
  }

  /**
   * Records pictures: a change's, in the transaction of its commit (`trx`, see MediaChanges), or
   * outside any change (the backfill).
   */
  async recordPictures(pictures: readonly PictureRecord[], now: string, trx?: Transaction<Database>): Promise<void> {
    await insertPictures(trx ?? this.db, this.dialect, pictures, now);
  }

  /** Drops the rows of pictures whose files were discarded. */
  async forgetPictures(names: readonly string[]): Promise<void> {
    if (names.length === 0) return;
    await this.db
      .deleteFrom('pictures')
      .where('name', 'in', [...names])
      .execute();
  }

  /**
   * The master `name` is no longer referenced: in one transaction its pictures row goes and its
   * variants are queued for deletion. Returns the variant names (none if it had no row).
   */
  async releaseVariants(name: string, now: string): Promise<string[]> {
    return this.db.transaction().execute(async (trx) => {
      const variants = await this.lockedVariants(trx, name);
      if (!variants) return [];
      await enqueueDeletions(trx, variants, now);
      await trx.deleteFrom('pictures').where('name', '=', name).execute();
      return variants;
    });
  }

  /**
   * Points a picture's record at a new variant set (a re-framing), if its variants are still
   * `expected`, and queues the old ones for deletion in the same transaction. Returns the old
   * variant names, or null when the record changed or went meanwhile (nothing is changed then).
   */
  async swapVariants(
    name: string,
    expected: readonly string[],
    picture: { variantSet: string; variants: StoredVariant[]; analysis: PictureAnalysis | null },
    now: string,
  ): Promise<string[] | null> {
    return this.db.transaction().execute(async (trx) => {
      const current = await this.lockedVariants(trx, name);
      if (!current || current.length !== expected.length || current.some((variant, i) => variant !== expected[i])) return null;
      await trx
        .updateTable('pictures')
        .set({
          variant_set: picture.variantSet,
          variants: JSON.stringify(picture.variants),
          analysis: picture.analysis ? JSON.stringify(picture.analysis) : null,
        })
        .where('name', '=', name)
        .execute();
      await enqueueDeletions(trx, current, now);
      return current;
    });
  }

  /** Pictures rows recorded before `cutoff` (the sweep checks which masters are still referenced). */
  async picturesBefore(cutoff: string): Promise<string[]> {
    const rows = await this.db.selectFrom('pictures').select('name').where('created_at', '<', cutoff).execute();
    return rows.map((row) => row.name);
  }

  /** Every media name a row points at. */
  referencedNames(): Promise<Set<string>> {
    return referencedNames(this.db);
  }

  isReferenced(name: string): Promise<boolean> {
    return isReferenced(this.db, name);
  }
}
