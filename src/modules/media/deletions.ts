import type { BackgroundWork } from '../../background.js';
import type { Log } from '../../log.js';
import type { Storage } from '../../storage/types.js';
import type { MediaRepository } from './repository.js';

const MAX_BACKOFF_SECONDS = 3600;
const RETRY_BATCH = 100;

/** 30 s, 1 min, 2 min, … capped at an hour. */
function retryDelaySeconds(attempts: number): number {
  return Math.min(MAX_BACKOFF_SECONDS, 30 * 2 ** Math.max(0, attempts - 1));
}

/**
 * Deletes stored files the database no longer references: after the commit that dropped them,
 * from the durable queue (pending_deletions) that commit wrote, retried with backoff.
 */
export class DeletionQueue {
  constructor(
    private readonly deps: {
      storage: Storage;
      repository: MediaRepository;
      clock: () => Date;
      log: Log;
      background: BackgroundWork;
    },
  ) {}

  /**
   * The new file of a change whose commit failed. Deleted now; if that fails too it is queued,
   * and if the queue (the database) is down as well, the sweep removes it after the grace period.
   */
  async discard(name: string): Promise<void> {
    const { log } = this.deps;
    // A discarded picture's row (recorded before the failed commit) goes too; its variants are
    // discarded by the caller, as new files of the same change.
    await this.deps.repository.forgetPictures([name]).catch((error: unknown) => {
      log.warn({ err: error, name }, 'could not drop the picture row of a failed change; the media sweep will');
    });
    try {
      await this.deps.storage.delete(name);
    } catch (error) {
      log.warn({ err: error, name }, 'could not delete the object of a failed change; queued for retry');
      await this.deps.repository.enqueue([name], this.deps.clock().toISOString()).catch((queueError: unknown) => {
        log.warn({ err: queueError, name }, 'could not queue the deletion either; the media sweep will remove it');
      });
    }
  }

  /** Names this process is deleting now: the retry pass leaves them to the purge under way. */
  readonly #purging = new Set<string>();

  /** Deletes files whose pending_deletions rows were committed; failures stay queued. */
  async purge(names: readonly string[]): Promise<void> {
    for (const name of names) this.#purging.add(name);
    for (const name of names) {
      try {
        await this.deleteQueued(name, 0);
      } finally {
        this.#purging.delete(name);
      }
    }
  }

  /**
   * Deletes the files a committed change queued (`purge`) or released (`purgeReleased`) once the
   * answer is written, so a request does not wait for them (six storage round trips for a picture
   * and its variants). Their queue rows are committed: if the process ends first, the retry pass
   * deletes them.
   */
  later(names: readonly string[], released = false): void {
    if (names.length === 0) return;
    this.deps.background.start('deleting replaced objects', () => (released ? this.purgeReleased(names) : this.purge(names)));
  }

  private async deleteQueued(name: string, attempts: number): Promise<boolean> {
    const { log, repository } = this.deps;
    try {
      // A safety net against bugs: never delete what a row still points at.
      if (await repository.isReferenced(name)) {
        log.error({ name }, 'a queued deletion is still referenced; dropping it from the queue');
        await repository.done(name);
        return true;
      }
      // A picture's variants go with it: queued (and its pictures row dropped) in one transaction
      // first, then deleted alongside the master, whatever happens to the master's own deletion;
      // the master and the variants that went are then marked done in one statement.
      const variants = await repository.releaseVariants(name, this.deps.clock().toISOString());
      const [master, deleted] = await Promise.all([
        this.deps.storage.delete(name).then(
          () => undefined,
          (error: unknown) => ({ error }),
        ),
        this.deleteVariants(variants),
      ]);
      if (master) {
        await repository.done(...deleted);
        throw master.error;
      }
      await repository.done(name, ...deleted);
      log.debug({ name, variants: variants.length }, 'old object deleted');
      return true;
    } catch (error) {
      await this.deleteLater(name, attempts, error);
      return false;
    }
  }

  /**
   * Deletes variants whose picture record is gone (released in the transaction that queued them):
   * nothing can reference them any more, so they skip the reference check and are deleted at once.
   * Returns those deleted (the caller marks them done); one that fails stays queued for a retry.
   */
  private async deleteVariants(names: readonly string[]): Promise<string[]> {
    const results = await Promise.allSettled(names.map((name) => this.deps.storage.delete(name)));
    for (const [i, result] of results.entries()) if (result.status === 'rejected') await this.deleteLater(names[i]!, 0, result.reason);
    return names.filter((_, i) => results[i]!.status === 'fulfilled');
  }

  /** Deletes variants a committed re-framing released (queued in its transaction); failures stay queued. */
  async purgeReleased(names: readonly string[]): Promise<void> {
    await this.deps.repository.done(...(await this.deleteVariants(names)));
  }

  private async deleteLater(name: string, attempts: number, error: unknown): Promise<void> {
    const next = attempts + 1;
    const retryAt = new Date(this.deps.clock().getTime() + retryDelaySeconds(next) * 1000).toISOString();
    this.deps.log.warn({ err: error, name, attempts: next, retryAt }, 'deleting an old object failed; will retry');
    await this.deps.repository.reschedule(name, next, retryAt, String((error as Error)?.message ?? error)).catch(() => undefined);
  }

  /** An unreferenced picture's row goes, and its variants are deleted (the sweep's clean-up). */
  async release(name: string): Promise<void> {
    const variants = await this.deps.repository.releaseVariants(name, this.deps.clock().toISOString());
    await this.purge(variants);
  }

  /** Every due deletion (or every queued one): how many succeeded and failed. */
  async retryDue(all = false): Promise<{ succeeded: number; failed: number }> {
    const now = this.deps.clock().toISOString();
    const queued = all ? await this.deps.repository.all() : await this.deps.repository.due(now, RETRY_BATCH);
    const due = queued.filter((item) => !this.#purging.has(item.name));
    let succeeded = 0;
    for (const item of due) if (await this.deleteQueued(item.name, item.attempts)) succeeded += 1;
    return { succeeded, failed: due.length - succeeded };
  }
}
