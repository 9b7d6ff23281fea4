import { readFile } from 'node:fs/promises';
import type { ImageConfig } from '../../config.js';
import { ApiError, serviceUnavailable } from '../../errors.js';
import type { UploadedFile } from '../../http/multipart.js';
import { QueueFullError, type WorkLimiter } from '../../images/limiter.js';
import { INVALID_IMAGE_MESSAGE, InvalidImageError, sanitiseImage } from '../../images/sanitise.js';
import type { Log } from '../../log.js';
import { newObjectName } from '../../storage/names.js';
import { IMMUTABLE_CACHE_CONTROL, type Storage } from '../../storage/types.js';
import { isPdf } from './documents.js';

/** A file as stored: its server-made name and what it became (a PDF has no pixel size). */
export interface StoredFile {
  name: string;
  bytes: number;
  width: number;
  height: number;
  format: string;
}

/** Where a new file goes and which form field it came from (named in 400s). */
export interface FileTarget {
  folder: string;
  ownerId: number;
  field: string;
}

export interface IngestObserver {
  uploaded(bytes: number): void;
  image(format: string, outcome: 'stored' | 'refused', seconds: number): void;
}

const BUSY_MESSAGE = 'The server is busy processing images. Please retry shortly.';

export function sizeLimitMessage(maxBytes: number): string {
  const mb = maxBytes / (1024 * 1024);
  const amount = Number.isInteger(mb) ? `${mb} MB` : maxBytes % 1024 === 0 ? `${maxBytes / 1024} KB` : `${maxBytes} bytes`;
  return `Image file size cannot exceed ${amount}.`;
}

/**
 * Turns uploads into stored files: images are decoded, validated and re-encoded without metadata
 * under a bounded concurrency, then written under a fresh server-made name.
 */
export class MediaIngest {
  constructor(
    private readonly deps: {
      storage: Storage;
      limiter: WorkLimiter;
      images: ImageConfig;
      log: Log;
      observe: IngestObserver;
    },
  ) {}

  /** Refuse new image work before reading a body when the queue is already full. */
  assertCapacity(): void {
    if (this.deps.limiter.saturated) throw serviceUnavailable(BUSY_MESSAGE, 5);
  }

  async storeImage(file: UploadedFile, target: FileTarget): Promise<StoredFile> {
    const { log, observe } = this.deps;
    const started = performance.now();
    observe.uploaded(file.bytes);
    let image;
    try {
      image = await this.deps.limiter.run(() => sanitiseImage(file.path, file.bytes, this.deps.images));
      observe.image(image.input.format, 'stored', (performance.now() - started) / 1000);
    } catch (error) {
      if (error instanceof QueueFullError) throw serviceUnavailable(BUSY_MESSAGE, 5);
      if (error instanceof InvalidImageError) {
        observe.image('invalid', 'refused', (performance.now() - started) / 1000);
        log.debug({ field: target.field, filename: file.filename, bytes: file.bytes, reason: error.detail }, 'image refused');
        throw new ApiError(400, { [target.field]: error.detail ? [INVALID_IMAGE_MESSAGE, error.detail] : [INVALID_IMAGE_MESSAGE] });
      }
      throw error;
    }
    const processed = performance.now();
    const name = newObjectName(target.folder, target.ownerId, image.extension);
    try {
      await this.deps.storage.put(name, image.buffer, { contentType: image.contentType, cacheControl: IMMUTABLE_CACHE_CONTROL });
    } catch (error) {
      log.error({ err: error, name }, 'storing an upload failed');
      throw serviceUnavailable('The image could not be stored right now. Please try again shortly.', 5);
    }
    log.debug(
      {
        ownerId: target.ownerId,
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
  async storeDocument(file: UploadedFile, target: FileTarget): Promise<StoredFile> {
    if (!(await isPdf(file.path, file.bytes))) {
      try {
        return await this.storeImage(file, target);
      } catch (error) {
        if (error instanceof ApiError && error.statusCode === 400) {
          throw new ApiError(400, { [target.field]: ['Upload a valid PDF document or image. The file you uploaded was neither.'] });
        }
        throw error;
      }
    }
    const name = newObjectName(target.folder, target.ownerId, 'pdf');
    try {
      await this.deps.storage.put(name, await readFile(file.path), {
        contentType: 'application/pdf',
        cacheControl: IMMUTABLE_CACHE_CONTROL,
        contentDisposition: 'attachment',
      });
    } catch (error) {
      this.deps.log.error({ err: error, name }, 'storing a document failed');
      throw serviceUnavailable('The file could not be stored right now. Please try again shortly.', 5);
    }
    this.deps.log.debug({ ownerId: target.ownerId, name, bytes: file.bytes }, 'document stored');
    return { name, bytes: file.bytes, width: 0, height: 0, format: 'pdf' };
  }
}
