import type { FastifyBaseLogger } from 'fastify';
import type { ImageConfig } from '../../config.js';
import { ApiError, serviceUnavailable } from '../../errors.js';
import { QueueFullError, type WorkLimiter } from '../../images/limiter.js';
import { INVALID_IMAGE_MESSAGE, InvalidImageError, sanitiseImage } from '../../images/sanitise.js';
import { newObjectName } from '../../storage/names.js';
import { IMMUTABLE_CACHE_CONTROL, type Storage } from '../../storage/types.js';
import { readFile } from 'node:fs/promises';
import { isPdf } from './documents.js';
import type { MediaRepository } from './repository.js';

export interface UploadedFile {
  /** Where the streamed upload was written. */
  path: string;
  bytes: number;
  /** The client's name: logged for support, never used to name anything. */
  filename: string;
}

export interface StoredImage {
  name: string;
  bytes: number;
  width: number;
  height: number;
  format: string;
}

export interface SweepReport {
  retried: number;
  retriedFailed: number;
  orphansDeleted: string[];
  orphansKept: number;
  dangling: string[];
  dryRun: boolean;
}

const MAX_BACKOFF_SECONDS = 3600;
const RETRY_BATCH = 100;

/** 30 s, 1 min, 2 min, … capped at an hour. */
export function retryDelaySeconds(attempts: number): number {
  return Math.min(MAX_BACKOFF_SECONDS, 30 * 2 ** Math.max(0, attempts - 1));
}

export function sizeLimitMessage(maxBytes: number): string {
  const mb = maxBytes / (1024 * 1024);
  const amount = Number.isInteger(mb) ? `${mb} MB` : maxBytes % 1024 === 0 ? `${maxBytes / 1024} KB` : `${maxBytes} bytes`;
  return `Image file size cannot exceed ${amount}.`;
}

/**
 * Every stored file goes through here: validate and sanitise (bounded concurrency), write under
 * a fresh server-made name, and delete what the database no longer references — after the
 * commit, durably (pending_deletions), retried with backoff, reconciled by the sweep.
 */
export class MediaService {
  #timer: NodeJS.Timeout | undefined;
  #retrying: Promise<void> | undefined;

  constructor(
    private readonly deps: {
      storage: Storage;
      repository: MediaRepository;
      limiter: WorkLimiter;
      images: ImageConfig;
      clock: () => Date;
      log: FastifyBaseLogger;
      /** Folders the sweep reconciles. */
      folders: readonly string[];
      /** Metrics of received uploads and image work. */
      observe?: {
        uploaded(bytes: number): void;
        image(format: string, outcome: 'stored' | 'refused', seconds: number): void;
      };
    },
  ) {}

  get storage(): Storage {
    return this.deps.storage;
  }

  /** Refuse new image work before reading a body when the queue is already full. */
  assertCapacity(): void {
    if (this.deps.limiter.saturated) throw serviceUnavailable('The server is busy processing images. Please retry shortly.', 5);
  }

  /** Validates, sanitises and stores an uploaded image; `field` names the form field in 400s. */
  async storeImage(file: UploadedFile, folder: string, ownerId: number, field: string, log: FastifyBaseLogger): Promise<StoredImage> {
    const started = performance.now();
    this.deps.observe?.uploaded(file.bytes);
    let image;
    try {
      image = await this.deps.limiter.run(() => sanitiseImage(file.path, file.bytes, this.deps.images));
      this.deps.observe?.image(image.input.format, 'stored', (performance.now() - started) / 1000);
    } catch (error) {
      if (error instanceof QueueFullError) throw serviceUnavailable('The server is busy processing images. Please retry shortly.', 5);
      if (error instanceof InvalidImageError) {
        this.deps.observe?.image('invalid', 'refused', (performance.now() - started) / 1000);
        log.debug({ field, filename: file.filename, bytes: file.bytes, reason: error.detail }, 'image refused');
        throw new ApiError(400, { [field]: error.detail ? [INVALID_IMAGE_MESSAGE, error.detail] : [INVALID_IMAGE_MESSAGE] });
      }
      throw error;
    }
    const processed = performance.now();
    const name = newObjectName(folder, ownerId, image.extension);
    try {
      await this.deps.storage.put(name, image.buffer, { contentType: image.contentType, cacheControl: IMMUTABLE_CACHE_CONTROL });
    } catch (error) {
      log.error({ err: error, name }, 'storing an upload failed');
      throw serviceUnavailable('The image could not be stored right now. Please try again shortly.', 5);
    }
    log.debug(
      {
        ownerId,
        name,
        bytesIn: file.bytes,
        bytesOut: image.buffer.length,
        input: `${image.input.format} ${image.input.width}x${image.input.height}`,
        output: `${image.format} ${image.width}x${image.height}`,
        processMs: Math.round(processed - started),
        storeMs: Math.round(performance.now() - processed),
      },
      'image stored',
    );
    return { name, bytes: image.buffer.length, width: image.width, height: image.height, format: image.format };
  }

  /**
   * A document field (authenticity certificates): a PDF, checked by its bytes and stored as is,
   * or an image, which goes through exactly the image pipeline.
   */
  async storeDocument(file: UploadedFile, folder: string, ownerId: number, field: string, log: FastifyBaseLogger): Promise<StoredImage> {
    if (!(await isPdf(file.path, file.bytes))) {
      try {
        return await this.storeImage(file, folder, ownerId, field, log);
      } catch (error) {
        if (error instanceof ApiError && error.statusCode === 400) {
          throw new ApiError(400, { [field]: ['Upload a valid PDF document or image. The file you uploaded was neither.'] });
        }
        throw error;
      }
    }
    const name = newObjectName(folder, ownerId, 'pdf');
    try {
      await this.deps.storage.put(name, await readFile(file.path), {
        contentType: 'application/pdf',
        cacheControl: IMMUTABLE_CACHE_CONTROL,
        contentDisposition: 'attachment',
      });
    } catch (error) {
      log.error({ err: error, name }, 'storing a document failed');
      throw serviceUnavailable('The file could not be stored right now. Please try again shortly.', 5);
    }
    log.debug({ ownerId, name, bytes: file.bytes }, 'document stored');
    return { name, bytes: file.bytes, width: 0, height: 0, format: 'pdf' };
  }

  /**
   * The new object of a change whose commit failed. Deleted now; if that fails too it is queued,
   * and if the queue (the database) is down as well, the sweep removes it after the grace period.
   */
  async discard(name: string, log: FastifyBaseLogger): Promise<void> {
    try {
      await this.deps.storage.delete(name);
    } catch (error) {
      log.warn({ err: error, name }, 'could not delete the object of a failed change; queued for retry');
      await this.deps.repository.enqueue([name], this.deps.clock().toISOString()).catch((queueError: unknown) => {
        log.warn({ err: queueError, name }, 'could not queue the deletion either; the media sweep will remove it');
      });
    }
  }

  /** Deletes objects whose pending_deletions rows were committed; failures stay queued. */
  async purge(names: string[], log: FastifyBaseLogger): Promise<void> {
    for (const name of names) await this.deleteQueued(name, 0, log);
  }

  private async deleteQueued(name: string, attempts: number, log: FastifyBaseLogger): Promise<boolean> {
    try {
      // A safety net against bugs: never delete what a row still points at.
      if (await this.deps.repository.isReferenced(name)) {
        log.error({ name }, 'a queued deletion is still referenced; dropping it from the queue');
        await this.deps.repository.done(name);
        return true;
      }
      await this.deps.storage.delete(name);
      await this.deps.repository.done(name);
      log.debug({ name }, 'old object deleted');
      return true;
    } catch (error) {
      const next = attempts + 1;
      const retryAt = new Date(this.deps.clock().getTime() + retryDelaySeconds(next) * 1000).toISOString();
      log.warn({ err: error, name, attempts: next, retryAt }, 'deleting an old object failed; will retry');
      await this.deps.repository.reschedule(name, next, retryAt, String((error as Error).message ?? error)).catch(() => undefined);
      return false;
    }
  }

  /** One pass of the retry worker: every due deletion. Returns how many succeeded and failed. */
  async retryDue(all = false): Promise<{ succeeded: number; failed: number }> {
    const now = this.deps.clock().toISOString();
    const due = all ? await this.deps.repository.all() : await this.deps.repository.due(now, RETRY_BATCH);
    let succeeded = 0;
    for (const item of due) if (await this.deleteQueued(item.name, item.attempts, this.deps.log)) succeeded += 1;
    return { succeeded, failed: due.length - succeeded };
  }

  startWorker(intervalSeconds: number): void {
    if (intervalSeconds <= 0 || this.#timer) return;
    this.#timer = setInterval(() => {
      if (this.#retrying) return;
      this.#retrying = this.retryDue()
        .then(() => undefined)
        .catch((error: unknown) => this.deps.log.warn({ err: error }, 'deletion retry pass failed'))
        .finally(() => {
          this.#retrying = undefined;
        });
    }, intervalSeconds * 1000);
    this.#timer.unref();
  }

  async stopWorker(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#retrying;
  }

  /**
   * Reconciles storage with the database: retries every queued deletion, deletes objects no row
   * references that are older than the grace period, and reports rows pointing at missing objects.
   */
  async sweep(options: { dryRun: boolean; graceSeconds: number }): Promise<SweepReport> {
    const report: SweepReport = { retried: 0, retriedFailed: 0, orphansDeleted: [], orphansKept: 0, dangling: [], dryRun: options.dryRun };
    if (!options.dryRun) {
      const retried = await this.retryDue(true);
      report.retried = retried.succeeded;
      report.retriedFailed = retried.failed;
    }
    const cutoff = this.deps.clock().getTime() - options.graceSeconds * 1000;
    const referenced = await this.deps.repository.referencedNames();
    const seen = new Set<string>();
    for (const folder of this.deps.folders) {
      for await (const object of this.deps.storage.list(folder)) {
        seen.add(object.name);
        if (referenced.has(object.name)) continue;
        if (object.lastModified.getTime() > cutoff) {
          report.orphansKept += 1;
          continue;
        }
        if (!options.dryRun) {
          // Re-check right before deleting: a commit may have landed since the listing.
          if (await this.deps.repository.isReferenced(object.name)) continue;
          await this.deps.storage.delete(object.name);
        }
        report.orphansDeleted.push(object.name);
      }
    }
    for (const name of referenced) {
      if (!seen.has(name) && !(await this.deps.storage.exists(name))) report.dangling.push(name);
    }
    report.dangling.sort();
    return report;
  }
}
