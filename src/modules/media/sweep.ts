import type { Storage } from '../../storage/types.js';
import type { DeletionQueue } from './deletions.js';
import { ADOPTED_FOLDER_LIST, MEDIA_FOLDER_LIST } from './references.js';
import type { MediaRepository } from './repository.js';

export interface SweepReport {
  retried: number;
  retriedFailed: number;
  orphansDeleted: string[];
  orphansKept: number;
  dangling: string[];
  /** Pictures rows whose master nothing references (a crash between storing and committing). */
  staleRecords: number;
  dryRun: boolean;
}

/**
 * Reconciles storage with the database: retries every queued deletion, deletes files no row
 * references that are older than the grace period, and reports rows pointing at missing files.
 */
export class MediaSweep {
  constructor(
    private readonly deps: {
      storage: Storage;
      repository: MediaRepository;
      deletions: DeletionQueue;
      clock: () => Date;
    },
  ) {}

  async sweep(options: { dryRun: boolean; graceSeconds: number }): Promise<SweepReport> {
    const { storage, repository } = this.deps;
    const report: SweepReport = {
      retried: 0,
      retriedFailed: 0,
      orphansDeleted: [],
      orphansKept: 0,
      dangling: [],
      staleRecords: 0,
      dryRun: options.dryRun,
    };
    if (!options.dryRun) {
      const retried = await this.deps.deletions.retryDue(true);
      report.retried = retried.succeeded;
      report.retriedFailed = retried.failed;
    }
    const cutoff = this.deps.clock().getTime() - options.graceSeconds * 1000;
    const referenced = await repository.referencedNames();
    const seen = new Set<string>();
    for (const folder of MEDIA_FOLDER_LIST) {
      for await (const object of storage.list(folder)) {
        seen.add(object.name);
        if (referenced.has(object.name)) continue;
        if (object.lastModified.getTime() > cutoff) {
          report.orphansKept += 1;
          continue;
        }
        if (!options.dryRun) {
          // Re-check right before deleting: a commit may have landed since the listing.
          if (await repository.isReferenced(object.name)) continue;
          await storage.delete(object.name);
        }
        report.orphansDeleted.push(object.name);
      }
    }
    for (const name of await repository.picturesBefore(new Date(cutoff).toISOString())) {
      if (referenced.has(name)) continue;
      report.staleRecords += 1;
      if (!options.dryRun && !(await repository.isReferenced(name))) await this.deps.deletions.release(name);
    }
    for (const name of referenced) {
      if (!seen.has(name) && !(await storage.exists(name))) report.dangling.push(name);
    }
    report.dangling.sort();
    return report;
  }

  /**
   * Objects adopted from a Django installation that no row references (Django wrote two objects per
   * picture upload and never deleted replaced ones). Listed; deleted only when `remove` is set, and
   * each only after checking again that nothing references it.
   */
  async legacyOrphans(options: { remove: boolean }): Promise<{ orphans: string[]; deleted: number }> {
    const { storage, repository } = this.deps;
    const referenced = await repository.referencedNames();
    const orphans: string[] = [];
    let deleted = 0;
    for (const folder of ADOPTED_FOLDER_LIST) {
      for await (const object of storage.list(folder, 'adopted')) {
        if (referenced.has(object.name)) continue;
        orphans.push(object.name);
        if (options.remove && !(await repository.isReferenced(object.name))) {
          await storage.delete(object.name);
          deleted += 1;
        }
      }
    }
    return { orphans, deleted };
  }
}
