import { BUFFERS_PILE_UP, PictureGarbage } from '../gc.js';
import { WorkLimiter } from './limiter.js';

/**
 * How much image work one process does at once: pictures in progress (IMAGE_CONCURRENCY, with at
 * most IMAGE_QUEUE_LIMIT more waiting) and, inside them, decodes of large uploads.
 *
 * A 12 MP decode is a picture's costliest step, in CPU and in memory (the decoder's buffers and
 * the sized pixels it leaves). With half the picture slots decoding a large upload at most, the
 * other pictures' work (the master's encode, the variants, the face check) runs beside one decode
 * instead of several: on 2 cores, 32 simultaneous 10 MB uploads peaked 40–45 MB lower (Node 24:
 * 295–309 MB against 344–349) and took 5–10 % longer, within the runs' spread. Heavy decodes
 * have a gate of their own, one at a time: those that hold several bytes a pixel of the whole
 * picture, where a baseline JPEG (decoded at a fraction of its size), a PNG or a WebP holds one to
 * three. HEIC (libheif WebAssembly, about 7; its thread decodes one at a time already, and a slow
 * one, up to HEIF_DECODE_TIMEOUT, holds back no other photo), AVIF (libaom, about 17), a
 * progressive JPEG (every coefficient, 6 with full-resolution colour), an interlaced PNG (every row,
 * 4 to 8 with alpha and 16 bits), a 16-bit PNG and a GIF (its frames, about 6): four 52 MP
 * progressive JPEGs or GIFs of under 1 MB took a process to 1.3 GB with eight slots decoding side
 * by side. A decode no larger than the master (MAX_IMAGE_DIMENSION²) never waits.
 *
 * One is built per process (services.ts) and handed to everything that decodes pictures there.
 */
export class ImageWork {
  readonly #pictures: WorkLimiter;
  readonly #largeDecodes: WorkLimiter;
  readonly #heavyDecodes = new WorkLimiter(1, Number.POSITIVE_INFINITY);
  /**
   * Where sharp's buffers pile up (Node 20), a full collection follows each picture decoded at the
   * master's size or near it (8 MB of pixels; 2048 × 1536 is 9 MB) that ends in a burst.
   */
  readonly #garbage = BUFFERS_PILE_UP ? new PictureGarbage(8 * 1024 * 1024) : undefined;

  /** Decodes of more pixels than this wait for a gate (MAX_IMAGE_DIMENSION²). */
  readonly #largePixels: number;

  /** The work a process with these image settings (config.images) may do at once. */
  constructor(images: { concurrency: number; queueLimit: number; maxDimension: number }) {
    this.#pictures = new WorkLimiter(images.concurrency, images.queueLimit);
    // Only pictures already admitted above reach the gates, so their queues need no limit of their own.
    this.#largeDecodes = new WorkLimiter(Math.max(1, Math.floor(images.concurrency / 2)), Number.POSITIVE_INFINITY);
    this.#largePixels = images.maxDimension * images.maxDimension;
  }

  /** True when a new picture would be refused (every slot busy, the queue full). */
  get saturated(): boolean {
    return this.#pictures.saturated;
  }

  /** Runs one picture's work in a slot, or refuses it (QueueFullError) when the queue is full. */
  picture<T>(task: () => Promise<T>): Promise<T> {
    const garbage = this.#garbage;
    if (!garbage) return this.#pictures.run(task);
    // Another picture in work or waiting: this one's dead buffers are collected before they pile up.
    const othersInWork = () => this.#pictures.active > 1 || this.#pictures.queued > 0;
    return this.#pictures.run(() => garbage.around(task, othersInWork));
  }

  /** Runs a decode of `pixels` now, or, for a large upload, once its gate (the heavy decodes', or the others') has room. */
  decode<T>(pixels: number, heavy: boolean, task: () => Promise<T>): Promise<T> {
    // What the decode leaves is at most the master's size, three bytes a pixel (RGB).
    this.#garbage?.decoded(Math.min(pixels, this.#largePixels) * 3);
    if (pixels <= this.#largePixels) return task();
    return (heavy ? this.#heavyDecodes : this.#largeDecodes).run(task);
  }
}

/** What sanitiseImage needs of the image work: the decode gates. */
export type DecodeGates = Pick<ImageWork, 'decode'>;
