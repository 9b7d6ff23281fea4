import { buffer } from 'node:stream/consumers';
import { sql, type Kysely } from 'kysely';
import type { Database } from '../../db/types.js';
import { InvalidImageError } from '../../images/checks.js';
import type { Log } from '../../log.js';
import type { Storage } from '../../storage/types.js';
import type { MediaChanges } from './changes.js';
import type { DeletionQueue } from './deletions.js';
import type { MediaIngest } from './ingest.js';
import { MEDIA_FOLDERS, variantNamesIn } from './references.js';
import type { MediaRepository } from './repository.js';

/** A stored picture without a record: its name, its owner and the folder its variants go to. */
export interface BackfillCandidate {
  name: string;
  userId: number;
  folder: string;
  /** A picture recorded before analyses existed: its variants' names (they are made again, framed around its face). */
  recordedVariants?: string[];
}

export interface BackfillReport {
  found: number;
  created: number;
  /** Replaced or removed while the backfill ran: their variants were deleted again. */
  superseded: number;
  failed: { name: string; reason: string }[];
  dryRun: boolean;
}

// The picture columns (not certificates, not video posters) and where their variants go.
const PICTURE_SOURCES = [
  sql`select p.profile_picture as name, p.user_id, ${MEDIA_FOLDERS.profilePictures} as folder from talent_profiles p where p.profile_picture is not null`,
  sql`select p.profile_picture as name, p.user_id, ${MEDIA_FOLDERS.backgroundProfilePictures} as folder from background_profiles p where p.profile_picture is not null`,
  sql`select i.image as name, i.user_id, ${MEDIA_FOLDERS.itemImages} as folder from items i where i.image is not null`,
  sql`select g.file as name, g.user_id, ${MEDIA_FOLDERS.gallery} as folder from gallery_media g where g.media_type = 'image'`,
];

/**
 * `media backfill`: variants, placeholder and size for pictures stored before this version, or
 * adopted from Django. Each picture is independent (resumable: a re-run skips those recorded);
 * the masters are never rewritten, so it is safe while the server serves traffic. A picture
 * replaced meanwhile gets its fresh variants deleted again at once.
 */
export class PictureBackfill {
  constructor(
    private readonly deps: {
      db: Kysely<Database>;
      storage: Storage;
      ingest: MediaIngest;
      records: MediaRepository;
      deletions: DeletionQueue;
      /** Re-frames recorded pictures (those without an analysis are analysed that way). */
      changes: MediaChanges;
      clock: () => Date;
      log: Log;
    },
  ) {}

  /**
   * Stored pictures that have no record yet, and (with face checks on) recorded pictures that have
   * no analysis (stored before it existed), oldest owner first.
   */
  async candidates(): Promise<BackfillCandidate[]> {
    const unanalysed = this.deps.ingest.checksFaces ? sql`r.analysis is null` : sql`false`;
    const rows = await sql<{ name: string; user_id: number; folder: string; variants: string | null }>`
      select c.name, c.user_id, c.folder, r.variants from (${sql.join(PICTURE_SOURCES, sql` union `)}) c
      left join pictures r on r.name = c.name
      where r.name is null or ${unanalysed}
      order by c.user_id, c.name`.execute(this.deps.db);
    // A photo promoted to profile picture is listed twice; it gets one record.
    const seen = new Set<string>();
    return rows.rows
      .filter((row) => !seen.has(row.name) && seen.add(row.name))
      .map((row) => ({
        name: row.name,
        userId: Number(row.user_id),
        folder: row.folder,
        ...(row.variants === null ? {} : { recordedVariants: variantNamesIn(row.variants) }),
      }));
  }

  async run(options: { dryRun: boolean; concurrency: number; progress?: (done: number, total: number) => void }): Promise<BackfillReport> {
    const candidates = await this.candidates();
    const report: BackfillReport = { found: candidates.length, created: 0, superseded: 0, failed: [], dryRun: options.dryRun };
    if (options.dryRun || candidates.length === 0) return report;
    let next = 0;
    let done = 0;
    const worker = async () => {
      while (next < candidates.length) {
        const candidate = candidates[next++]!;
        const outcome = await this.backfill(candidate).catch((error: unknown) => ({ failed: describe(error) }));
        if (outcome === 'created') report.created += 1;
        else if (outcome === 'superseded') report.superseded += 1;
        else report.failed.push({ name: candidate.name, reason: outcome.failed });
        options.progress?.(++done, candidates.length);
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, options.concurrency) }, worker));
    return report;
  }

  private async backfill(candidate: BackfillCandidate): Promise<'created' | 'superseded' | { failed: string }> {
    const { storage, ingest, records, deletions, changes, clock, log } = this.deps;
    const target = { folder: candidate.folder, ownerId: candidate.userId, field: 'file' };
    if (candidate.recordedVariants) {
      // Analysed now, its variants made again around its face: a re-framing with the face check.
      const master = { name: candidate.name, folder: candidate.folder, ownerId: candidate.userId };
      const current = { analysis: null, variants: candidate.recordedVariants.map((name) => ({ name })) };
      if (!(await changes.reframe(master, current, null, { analyse: true, field: 'file' }))) return 'superseded';
      log.debug({ name: candidate.name }, 'picture analysed');
      return 'created';
    }
    const object = await storage.get(candidate.name);
    if (!object) return { failed: 'missing from storage' };
    // The stored bytes are decoded from memory, as a small upload is (a decode needs far more).
    const bytes = await buffer(object.body);
    const picture = await ingest.describeStored(bytes, target);
    await records.recordPictures([{ name: candidate.name, userId: candidate.userId, ...picture }], clock().toISOString());
    // Replaced or removed while its variants were made: they go again, with the record.
    if (!(await records.isReferenced(candidate.name))) {
      await deletions.release(candidate.name);
      return 'superseded';
    }
    log.debug({ name: candidate.name, variants: picture.variants.length }, 'picture backfilled');
    return 'created';
  }
}

function describe(error: unknown): string {
  if (error instanceof InvalidImageError) return `not a decodable image${error.reason ? ` (${error.reason})` : ''}`;
  return (error as Error)?.message ?? String(error);
}
