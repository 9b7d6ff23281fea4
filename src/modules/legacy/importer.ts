import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Log } from '../../log.js';
import { contentTypeForName, isLegacyName, isSafeName } from '../../storage/names.js';
import { isPdf } from '../media/documents.js';
import { videoContainerOf } from '../../video/ffmpeg.js';
import type { Storage } from '../../storage/types.js';
import type { DeletionQueue } from '../media/deletions.js';
import { WorkLimiter } from '../../images/limiter.js';
import { isReadableImage } from '../../images/probe.js';
import { enqueueDeletions } from '../media/repository.js';
import {
  BACKGROUND_COLUMNS,
  backgroundProfile,
  chooseUsers,
  fingerprint,
  galleryValues,
  ITEM_TABLES,
  itemColumns,
  itemValues,
  type Note,
  PLAN_COLUMNS,
  planCode,
  SOCIAL_COLUMNS,
  SUBSCRIPTION_COLUMNS,
  subscriptionValues,
  TALENT_COLUMNS,
  TALENT_MEDIA_COLUMNS,
  talentProfile,
  USER_COLUMNS,
} from './mapping.js';
import type { ImportRecord, ImportRepository } from './repository.js';
import type { DjangoSource, SourceRow } from './source.js';

export interface ImportOptions {
  dryRun: boolean;
  /** The Django server's MEDIA_ROOT: files that never reached the bucket are uploaded from it. */
  legacyMediaDir?: string;
  /** Called as each stage advances (the CLI draws a progress bar per stage). */
  progress?: (stage: string, done: number, total: number) => void;
}

export interface StageCounts {
  read: number;
  created: number;
  updated: number;
  unchanged: number;
  deleted: number;
  skipped: number;
}

export interface ImportReport {
  dryRun: boolean;
  stages: Record<string, StageCounts>;
  pictures: { checked: number; missing: number; uploaded: number };
  notes: Note[];
}

/** One row to import: where it comes from, what it becomes, and its fingerprint. */
interface Entry {
  source: string;
  sourceId: number;
  values: Record<string, unknown>;
  fingerprint: string;
  /** The row it became in an earlier run. */
  targetId?: number;
  action?: 'create' | 'update';
}

/** The columns that hold file names, per kind of row. */
const FILE_COLUMNS: Record<string, string[]> = {
  talent_profiles: ['profile_picture'],
  background_profiles: ['profile_picture'],
  items: ['image', 'authenticity_certificate'],
  gallery_media: ['file'],
};

const HEAD_CONCURRENCY = 16;

/**
 * `cli import django`: reads a Django (gan7club) database and brings its accounts, profiles, social
 * links, items and subscriptions into castfolio, keeping user ids, password hashes and picture
 * names. Re-runnable: each source row's fingerprint is kept (legacy_imports), so a later run
 * creates what is new, updates what changed in the source, deletes what the source deleted, and
 * leaves everything else alone, including changes users made in castfolio since.
 */
export class DjangoImport {
  constructor(
    private readonly deps: {
      repository: ImportRepository;
      storage: Storage;
      deletions: DeletionQueue;
      clock: () => Date;
      log: Log;
    },
  ) {}

  async run(source: DjangoSource, options: ImportOptions): Promise<ImportReport> {
    const report: ImportReport = { dryRun: options.dryRun, stages: {}, pictures: { checked: 0, missing: 0, uploaded: 0 }, notes: [] };
    const stage = (name: string) => (report.stages[name] ??= { read: 0, created: 0, updated: 0, unchanged: 0, deleted: 0, skipped: 0 });
    const note = (entry: Note) => {
      report.notes.push(entry);
      if (entry.action === 'skipped') stage(entry.table).skipped += 1;
    };

    // Read the source.
    const read = async (table: string, columns: readonly string[], required?: readonly string[]) => {
      const rows = await source.rows(table, columns, required);
      options.progress?.(`read ${table}`, rows.length, rows.length);
      return rows;
    };
    const accounts = await read('users_baseuser', USER_COLUMNS, ['id', 'email', 'password']);
    const talents = await read('profiles_talentuserprofile', TALENT_COLUMNS, ['id', 'user_id']);
    const backgrounds = await read('profiles_backgroundjobsprofile', BACKGROUND_COLUMNS, ['id', 'user_id']);
    const socials = await read('profiles_socialmedialinks', SOCIAL_COLUMNS, ['id', 'user_id']);
    const genres = new Map((await read('profiles_genre', ['id', 'name'])).map((row) => [Number(row.id), String(row.name)]));
    const plans = new Map((await read('payments_subscriptionplan', PLAN_COLUMNS, ['id', 'name'])).map((row) => [Number(row.id), row]));
    const subscriptions = await read('payments_subscription', SUBSCRIPTION_COLUMNS, ['id', 'user_id', 'plan_id', 'status']);
    const mediaRows = await read('profiles_talentmedia', TALENT_MEDIA_COLUMNS, ['id', 'talent_id', 'media_file']);
    const itemRows = new Map<string, SourceRow[]>();
    for (const table of ITEM_TABLES)
      itemRows.set(table.table, await read(table.table, itemColumns(table), ['id', 'BackGroundJobsProfile_id', 'name']));

    // Accounts: the ones castfolio can hold, and not in the way of an account castfolio already has.
    stage('users').read = accounts.length;
    const chosen = chooseUsers(accounts);
    chosen.notes.forEach(note);
    const imported = await this.deps.repository.imported();
    const existing = await this.deps.repository.accounts();
    const emailOwner = new Map([...existing].map(([id, email]) => [email, id]));
    for (const user of [...chosen.users.values()]) {
      const ours = imported.has(`users:${user.id}`);
      const owner = emailOwner.get(user.email);
      const clash =
        !ours && existing.has(user.id)
          ? `castfolio already has another account with id ${user.id}`
          : owner !== undefined && owner !== user.id
            ? `castfolio already has account ${owner} with this email`
            : undefined;
      if (clash) {
        chosen.users.delete(user.id);
        note({ table: 'users', sourceId: user.id, action: 'skipped', reason: clash });
      }
    }
    const kept = chosen.users;
    const accountRow = new Map(accounts.map((row) => [Number(row.id), row]));

    const entries = new Map<string, Entry[]>();
    const seen = new Map<string, Set<number>>();
    const add = (name: string, sourceName: string, sourceId: number, values: Record<string, unknown>) => {
      const list = entries.get(name) ?? [];
      list.push({ source: sourceName, sourceId, values, fingerprint: fingerprint(values) });
      entries.set(name, list);
    };
    const saw = (sourceName: string, id: number) => (seen.get(sourceName) ?? seen.set(sourceName, new Set()).get(sourceName)!).add(id);

    for (const row of accounts) saw('users', Number(row.id));
    for (const user of kept.values()) add('users', 'users', user.id, { ...user });

    // Profiles: one per role the account has; a missing source row is made from the account's fields.
    const talentById = new Map(talents.map((row) => [Number(row.user_id), row]));
    const backgroundById = new Map(backgrounds.map((row) => [Number(row.user_id), row]));
    const talentOwner = new Map(talents.map((row) => [Number(row.id), Number(row.user_id)]));
    const backgroundOwner = new Map(backgrounds.map((row) => [Number(row.id), Number(row.user_id)]));
    stage('talent_profiles').read = talents.length;
    stage('background_profiles').read = backgrounds.length;
    for (const row of accounts) {
      saw('talent_profiles', Number(row.id));
      saw('background_profiles', Number(row.id));
    }
    for (const user of kept.values()) {
      const account = accountRow.get(user.id) as SourceRow;
      if (user.is_talent) {
        if (!talentById.has(user.id))
          note({
            table: 'talent_profiles',
            sourceId: user.id,
            action: 'altered',
            reason: 'no talent profile in the source: made from the account’s own fields',
          });
        add('talent_profiles', 'talent_profiles', user.id, { ...talentProfile(account, talentById.get(user.id)) });
      }
      if (user.is_background) {
        if (!backgroundById.has(user.id))
          note({
            table: 'background_profiles',
            sourceId: user.id,
            action: 'altered',
            reason: 'no background profile in the source: made from the account’s own fields',
          });
        add('background_profiles', 'background_profiles', user.id, { ...backgroundProfile(account, backgroundById.get(user.id)) });
      }
    }

    // Social links hang off the talent profile (its id, despite the column's name user_id).
    stage('social_media_links').read = socials.length;
    for (const row of socials) {
      const userId = talentOwner.get(Number(row.user_id));
      if (userId !== undefined) saw('social_media_links', userId);
      if (userId === undefined || !kept.get(userId)?.is_talent) {
        note({ table: 'social_media_links', sourceId: Number(row.id), action: 'skipped', reason: 'its talent account is not imported' });
        continue;
      }
      const link = (value: unknown) => (typeof value === 'string' && value.trim() !== '' ? value.trim().slice(0, 200) : null);
      add('social_media_links', 'social_media_links', userId, {
        user_id: userId,
        facebook: link(row.facebook),
        instagram: link(row.instagram),
        youtube: link(row.youtube),
        tiktok: link(row.tiktok),
      });
    }

    // Items: eight tables, one castfolio table; the owner is the background profile's account.
    for (const table of ITEM_TABLES) {
      const rows = itemRows.get(table.table) ?? [];
      const sourceName = `items:${table.type}`;
      stage('items').read += rows.length;
      for (const row of rows) {
        saw(sourceName, Number(row.id));
        const userId = backgroundOwner.get(Number(row.BackGroundJobsProfile_id));
        if (userId === undefined || !kept.has(userId)) {
          note({
            table: 'items',
            sourceId: Number(row.id),
            action: 'skipped',
            reason: `${table.type}: ${userId === undefined ? 'no owner' : 'its account is not imported'}`,
          });
          continue;
        }
        add(
          'items',
          sourceName,
          Number(row.id),
          itemValues(table, row, userId, row.genre_id == null ? null : (genres.get(Number(row.genre_id)) ?? null)),
        );
      }
    }

    // Talent media: the gallery of the talent profile's account, in the order it was uploaded.
    stage('gallery_media').read = mediaRows.length;
    for (const row of [...mediaRows].sort((a, b) => Number(a.id) - Number(b.id))) {
      saw('gallery_media', Number(row.id));
      const userId = talentOwner.get(Number(row.talent_id));
      if (userId === undefined || !kept.get(userId)?.is_talent) {
        note({ table: 'gallery_media', sourceId: Number(row.id), action: 'skipped', reason: 'its talent account is not imported' });
        continue;
      }
      const values = galleryValues(row, userId);
      if (typeof values === 'string') {
        note({ table: 'gallery_media', sourceId: Number(row.id), action: 'skipped', reason: values });
        continue;
      }
      add('gallery_media', 'gallery_media', Number(row.id), values);
    }

    // Subscriptions, and the talent account types the source gave without one (admin grants).
    stage('subscriptions').read = subscriptions.length;
    const activeTalentPlans = new Set<number>();
    for (const row of subscriptions) {
      saw('subscriptions', Number(row.id));
      const plan = plans.get(Number(row.plan_id));
      const code = planCode(plan?.name);
      if (!kept.has(Number(row.user_id)) || !code) {
        note({
          table: 'subscriptions',
          sourceId: Number(row.id),
          action: 'skipped',
          reason: code ? 'its account is not imported' : `plan ${String(plan?.name)} is not sold by castfolio`,
        });
        continue;
      }
      const values = subscriptionValues(row, code, Number(plan?.duration_months ?? 12));
      if (values.status === 'active' && code !== 'background_jobs') activeTalentPlans.add(values.user_id);
      add('subscriptions', 'subscriptions', Number(row.id), { ...values });
    }
    const now = this.deps.clock();
    for (const row of talents) {
      const userId = Number(row.user_id);
      const code = planCode(row.account_type);
      if (!kept.get(userId)?.is_talent || !code || code === 'background_jobs' || activeTalentPlans.has(userId)) continue;
      saw('talent_account_type', userId);
      const end = new Date(now);
      end.setUTCFullYear(end.getUTCFullYear() + 1);
      note({
        table: 'subscriptions',
        sourceId: userId,
        action: 'altered',
        reason: `talent account type ${String(row.account_type)} without a subscription: granted ${code} for 12 months`,
      });
      add('subscriptions', 'talent_account_type', userId, {
        user_id: userId,
        plan: code,
        status: 'active',
        start_date: now.toISOString(),
        end_date: end.toISOString(),
        created_at: now.toISOString(),
      });
    }

    // What changed since the last run.
    const deletions: { source: string; sourceId: number; targetId: number }[] = [];
    for (const [name, list] of entries) {
      const counts = stage(name);
      for (const entry of list) {
        const before = imported.get(`${entry.source}:${entry.sourceId}`);
        entry.targetId = before?.targetId;
        if (!before) entry.action = 'create';
        else if (!before.fingerprint.startsWith(entry.fingerprint) || before.fingerprint.endsWith(':retry')) entry.action = 'update';
        else counts.unchanged += 1;
      }
    }
    for (const [key, value] of imported) {
      const [sourceName, id] = [key.slice(0, key.lastIndexOf(':')), Number(key.slice(key.lastIndexOf(':') + 1))];
      if (!seen.get(sourceName)?.has(id)) deletions.push({ source: sourceName, sourceId: id, targetId: value.targetId });
    }

    // Pictures: the names rows will point at must exist (or be uploaded from the old server).
    await this.checkFiles(
      [...entries].flatMap(([name, list]) => list.filter((e) => e.action).map((entry) => ({ name, entry }))),
      options,
      report,
      note,
    );

    for (const [name, list] of entries) {
      const counts = stage(name);
      for (const entry of list) if (entry.action === 'create') counts.created += 1;
      for (const entry of list) if (entry.action === 'update') counts.updated += 1;
    }
    for (const deletion of deletions) stage(stageOf(deletion.source)).deleted += 1;
    if (options.dryRun) return report;

    const purge = await this.write(entries, deletions);
    await this.deps.deletions.purge(purge);
    return report;
  }

  /**
   * Checks that every file a created or changed row names exists in storage (bounded, concurrent
   * HEAD requests); a missing one is uploaded from the old server's folder when it holds it and it
   * is what its column expects (an image, or a PDF certificate), otherwise the row keeps no file and
   * the summary says so. A row that lost a file is retried on the next run.
   */
  private async checkFiles(work: { name: string; entry: Entry }[], options: ImportOptions, report: ImportReport, note: (n: Note) => void) {
    const limiter = new WorkLimiter(HEAD_CONCURRENCY, Number.MAX_SAFE_INTEGER);
    const checks = work.flatMap(({ name, entry }) =>
      (FILE_COLUMNS[name] ?? []).filter((column) => typeof entry.values[column] === 'string').map((column) => ({ name, entry, column })),
    );
    let done = 0;
    await Promise.all(
      checks.map(({ name, entry, column }) =>
        limiter.run(async () => {
          const file = entry.values[column] as string;
          const problem = await this.ensureFile(file, column, options, report);
          if (problem) {
            entry.values[column] = null;
            if (!entry.fingerprint.endsWith(':retry')) entry.fingerprint = `${entry.fingerprint}:retry`;
            note({
              table: name,
              sourceId: entry.sourceId,
              action: 'altered',
              reason: `${column} ${file}: ${problem}; imported without it`,
            });
          }
          options.progress?.('files', ++done, checks.length);
        }),
      ),
    );
  }

  /** Undefined when the file is in storage (now); otherwise why not. */
  private async ensureFile(file: string, column: string, options: ImportOptions, report: ImportReport): Promise<string | undefined> {
    if (!isLegacyName(file) && !isSafeName(file)) return 'not a file name castfolio can serve safely';
    report.pictures.checked += 1;
    if (await this.deps.storage.exists(file)) return undefined;
    report.pictures.missing += 1;
    if (!options.legacyMediaDir) return 'not in the bucket';
    let bytes: Buffer;
    try {
      bytes = await readFile(path.join(options.legacyMediaDir, file));
    } catch {
      return 'neither in the bucket nor in --legacy-media-dir';
    }
    const document = column === 'authenticity_certificate' && (await isPdf({ content: bytes, bytes: bytes.length }));
    const video = column === 'file' && (await videoContainerOf(path.join(options.legacyMediaDir, file))) !== undefined;
    if (!document && !video && !(await isReadableImage(bytes, 100_000_000)))
      return 'the old server’s file is not a readable image or video';
    if (!options.dryRun) {
      await this.deps.storage.put(file, bytes, {
        contentType: document ? 'application/pdf' : contentTypeForName(file),
        cacheControl: 'public, max-age=86400',
        ...(document ? { contentDisposition: 'attachment' } : {}),
      });
    }
    report.pictures.uploaded += 1;
    return undefined;
  }

  /** Every change in one transaction; returns the names to delete after it commits. */
  private async write(
    entries: Map<string, Entry[]>,
    deletions: { source: string; sourceId: number; targetId: number }[],
  ): Promise<string[]> {
    const repository = this.deps.repository;
    const now = this.deps.clock().toISOString();
    const changed = (name: string) => (entries.get(name) ?? []).filter((entry) => entry.action);
    // Pictures an update replaces are deleted after the commit, like any replaced picture.
    const replaced: string[] = [];
    for (const table of ['talent_profiles', 'background_profiles'] as const) {
      const updates = changed(table).filter((e) => e.action === 'update');
      const current = await repository.picturesOf(
        table,
        updates.map((e) => e.sourceId),
      );
      for (const entry of updates) {
        const old = current.get(entry.sourceId);
        if (old && old !== entry.values.profile_picture) replaced.push(old);
      }
    }
    const mediaUpdates = changed('gallery_media').filter((e) => e.action === 'update' && e.targetId !== undefined);
    const mediaFiles = await repository.galleryFiles(mediaUpdates.map((e) => e.targetId as number));
    for (const entry of mediaUpdates) {
      const old = mediaFiles.get(entry.targetId as number);
      if (old && old !== entry.values.file) replaced.push(old);
    }
    const itemUpdates = changed('items').filter((e) => e.action === 'update' && e.targetId !== undefined);
    const itemFiles = await repository.itemFiles(itemUpdates.map((e) => e.targetId as number));
    for (const entry of itemUpdates) {
      const keep = new Set([entry.values.image, entry.values.authenticity_certificate]);
      replaced.push(...(itemFiles.get(entry.targetId as number) ?? []).filter((name) => !keep.has(name)));
    }

    return repository.db.transaction().execute(async (trx) => {
      const records: ImportRecord[] = [];
      const stamp = (rows: Entry[], extra: Record<string, unknown> = {}) => rows.map((e) => ({ ...e.values, ...extra }));
      await repository.upsert(trx, 'users', 'id', stamp(changed('users'), { updated_at: now }));
      await repository.upsert(trx, 'talent_profiles', 'user_id', stamp(changed('talent_profiles'), { created_at: now, updated_at: now }));
      await repository.upsert(
        trx,
        'background_profiles',
        'user_id',
        stamp(changed('background_profiles'), { created_at: now, updated_at: now }),
      );
      await repository.upsert(trx, 'social_media_links', 'user_id', stamp(changed('social_media_links'), { updated_at: now }));
      for (const name of ['users', 'talent_profiles', 'background_profiles', 'social_media_links']) {
        for (const entry of changed(name))
          records.push({ source: entry.source, sourceId: entry.sourceId, targetId: entry.sourceId, fingerprint: entry.fingerprint });
      }
      for (const [name, table] of [
        ['items', 'items'],
        ['subscriptions', 'subscriptions'],
        ['gallery_media', 'gallery_media'],
      ] as const) {
        const creates = changed(name).filter((e) => e.action === 'create' || e.targetId === undefined);
        const ids = await repository.insertReturningIds(trx, table, stamp(creates, table === 'subscriptions' ? { updated_at: now } : {}));
        creates.forEach((entry, i) =>
          records.push({ source: entry.source, sourceId: entry.sourceId, targetId: ids[i] as number, fingerprint: entry.fingerprint }),
        );
        for (const entry of changed(name).filter((e) => e.action === 'update' && e.targetId !== undefined)) {
          await repository.update(
            trx,
            table,
            entry.targetId as number,
            table === 'subscriptions' ? { ...entry.values, updated_at: now } : entry.values,
          );
          records.push({
            source: entry.source,
            sourceId: entry.sourceId,
            targetId: entry.targetId as number,
            fingerprint: entry.fingerprint,
          });
        }
      }
      const gone = (prefix: string) => deletions.filter((d) => d.source === prefix || d.source.startsWith(`${prefix}:`));
      const names = [...replaced];
      names.push(
        ...(await repository.deleteItems(
          trx,
          gone('items').map((d) => d.targetId),
          now,
        )),
      );
      names.push(
        ...(await repository.deleteGalleryItems(
          trx,
          gone('gallery_media').map((d) => d.targetId),
          now,
        )),
      );
      // Profile reads cache galleries by users.gallery_version: every gallery the import touched moves on.
      await repository.bumpGalleryVersions(
        trx,
        changed('gallery_media').map((e) => Number(e.values.user_id)),
      );
      await repository.deleteRows(
        trx,
        'subscriptions',
        'id',
        [...gone('subscriptions'), ...gone('talent_account_type')].map((d) => d.targetId),
      );
      await repository.deleteRows(
        trx,
        'social_media_links',
        'user_id',
        gone('social_media_links').map((d) => d.targetId),
      );
      names.push(
        ...(await repository.deleteUsers(
          trx,
          gone('users').map((d) => d.targetId),
          now,
        )),
      );
      await enqueueDeletions(trx, replaced, now);
      for (const deletion of deletions) await repository.forget(trx, deletion.source, [deletion.sourceId]);
      await repository.record(trx, records, now);
      await repository.continueSequences(trx);
      return names;
    });
  }
}

const stageOf = (sourceName: string) =>
  sourceName.startsWith('items:') ? 'items' : sourceName === 'talent_account_type' ? 'subscriptions' : sourceName;
