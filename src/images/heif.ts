import { readFile } from 'node:fs/promises';
import { heifMeta, Truncated } from '../isobmff/boxes.js';
import { BoxFile, boxesIn } from '../isobmff/file.js';
import { declaredSamples, declaresSamples } from '../isobmff/samples.js';
import { canvasOf, derivedImagesIn, DESCRIPTION_BYTES, imageSizesIn } from './heif-canvas.js';
import { declaredNclx, type HeifColours } from './heif-colours.js';
import type { HeifTask, HeifWarmTask } from './heif-worker.js';
import { lazyWorker, type WorkerState } from './worker-pool.js';

/** Decoded pixels: RGB or RGBA, 8 bits per channel, the HEIF container's rotation and mirroring applied. */
export interface DecodedHeif {
  width: number;
  height: number;
  channels: 3 | 4;
  data: Uint8Array;
}

/**
 * The worker thread that decodes HEVC-coded HEIF. Started on the first HEIC upload; left idle for
 * 30 s it exits, giving back the WebAssembly memory a decode grew to (about 95 MB for 12 MP, which
 * WebAssembly never shrinks). One thread: HEIC decodes queue here (inside the image limiter), so
 * four 12 MP HEIC uploads at once cost one decoder's memory, not four. Its young generation is
 * the 32 MB it had under `npm start`'s `--max-semi-space-size=16` (the decoded pixels it hands
 * back are one large buffer, not young-generation garbage).
 */
const heifWorker = lazyWorker('heif-worker', 30_000, { youngGenerationMb: 32, warmTask: { warm: true } satisfies HeifWarmTask });

/**
 * A decoder whose memory grew past this (a photo of more than about 25 MP: an iPhone's 48 MP grid
 * takes it to 255 MB) ends its thread a second after its last decode instead of 30 s, unless
 * another decode is under way or waiting: a 12 MP photo's 63 MB stays for the next upload, a large
 * one's is given back at once (the process from 424 to 125 MB). A HEIC decoded next pays the
 * thread's start (about half a second) beside its own seconds.
 */
const KEEP_DECODER_MEMORY = 128 * 1024 * 1024;
const END_LARGE_DECODER_MS = 1000;

/** What a HEIF or AVIF file's header declares: see declaredHeifHeader. */
export interface HeifHeader {
  /** Every image's size and every grid's or overlay's canvas; undefined when none could be read. */
  sizes: { width: number; height: number }[] | undefined;
  /** The primary image's `nclx` colours (declaredNclx), or null. */
  colours: HeifColours | null;
  /** A grid or overlay is declared whose canvas cannot be read: no decoder may be given the file. */
  damaged: boolean;
  /** The pixels of all the images its grids and overlays are made of, which a decoder decodes in full. */
  derivedInputPixels: number;
  /**
   * What an image sequence's movie (`moov`, an animated AVIF's or HEIC's) declares: its frames
   * (the most samples of any one track) and its samples in all. libheif allocates the index of
   * every track's samples from their declared count as it opens the file, before any is decoded:
   * an 819-byte AVIF declaring 10 million frames took it 3.5 s of CPU and the process to 688 MB.
   */
  sequence: { frames: number; samples: number };
}

/**
 * What a HEIF or AVIF file (its bytes, or its path) declares in its header boxes (`meta`, wherever
 * it lies), read before any decoder sees the file.
 * The sizes of all its images (the `ispe` property of each: the primary image, its tiles,
 * thumbnails, auxiliary images): libvips reads only the primary image's, and one whose side is over
 * what it can hold (100 million pixels) it reads as 1 pixel wide, with a GLib warning on the
 * process's stderr. The canvas of each grid and overlay (heif-canvas.ts), which the decoders
 * allocate whatever its `ispe` says; `damaged` when one is declared and its canvas cannot be read.
 * The sizes are undefined when the file has no `meta` or its properties cannot be read: the
 * decoders, which read it next, then say why. And the primary image's `nclx` colours, which neither
 * decoder applies: read here rather than by libheif in its thread, so an AVIF (which sharp decodes
 * itself) never starts that thread or waits behind a HEIC's decode there. And what an image
 * sequence's movie declares (`sequence`). From a file on disk, what is read is the top-level
 * boxes' headers, `meta` itself, a movie's boxes down to the headers of its sample tables, and each
 * grid's or overlay's description where it lies outside `meta`.
 */
export async function declaredHeifHeader(input: Buffer | string): Promise<HeifHeader> {
  const file = await BoxFile.open(input);
  try {
    const { meta: payload, sequence } = await headerBoxes(file);
    if (!payload) return { sizes: undefined, colours: null, damaged: false, derivedInputPixels: 0, sequence };
    let sizes: HeifHeader['sizes'];
    try {
      const meta = heifMeta(payload);
      try {
        sizes = imageSizesIn(meta);
      } catch (error) {
        if (!(error instanceof Truncated || error instanceof RangeError)) throw error;
      }
      const derived = derivedImagesIn(meta);
      const canvases = await Promise.all(
        derived.map(async (image) => canvasOf(image.type, image.bytes ?? (await descriptionAt(file, image.extents)))),
      );
      if (canvases.length > 0) sizes = [...(sizes ?? []), ...canvases];
      const derivedInputPixels = derived.reduce((sum, image) => sum + image.inputPixels, 0);
      return { sizes: sizes?.length ? sizes : undefined, colours: declaredNclx(meta), damaged: false, derivedInputPixels, sequence };
    } catch (error) {
      if (!(error instanceof Truncated || error instanceof RangeError)) throw error;
      return { sizes, colours: null, damaged: true, derivedInputPixels: 0, sequence };
    }
  } finally {
    await file.close();
  }
}

/**
 * The top-level boxes the header read needs: the payload of `meta` (its version and flags, then
 * its boxes), read whole (undefined when there is none, or it runs past the file's end), and the
 * samples an image sequence's movie declares (see HeifHeader.sequence).
 */
async function headerBoxes(file: BoxFile): Promise<{ meta: Buffer | undefined; sequence: HeifHeader['sequence'] }> {
  let meta: Buffer | undefined;
  let metaSeen = false;
  const sequence = { frames: 0, samples: 0 };
  for await (const batch of boxesIn(file, 0, file.size)) {
    for (const box of batch) {
      if (box.type === 'meta' && !metaSeen) {
        metaSeen = true;
        if (!box.cut) meta = await file.read(box.payload, box.end - box.payload);
      } else if (declaresSamples(box)) {
        for (const samples of await declaredSamples(file, box, 'counted')) {
          sequence.frames = Math.max(sequence.frames, samples);
          sequence.samples += samples;
        }
      }
    }
  }
  return { meta, sequence };
}

/** The first DESCRIPTION_BYTES of `extents` of the file (absolute offsets). */
async function descriptionAt(file: BoxFile, extents: { offset: number; length: number }[]): Promise<Buffer> {
  const parts: Buffer[] = [];
  let wanted = DESCRIPTION_BYTES;
  for (const { offset, length } of extents) {
    if (wanted <= 0) break;
    const take = Math.min(length === 0 ? wanted : length, wanted);
    const part = await file.read(offset, take);
    if (part.length < take) throw new Truncated();
    parts.push(part);
    wanted -= take;
  }
  return Buffer.concat(parts);
}

export class HeifDecodeError extends Error {
  constructor(cause: unknown) {
    super('HEIF decoding failed', { cause });
    this.name = 'HeifDecodeError';
  }
}

/**
 * Decodes a HEIF file (its bytes, or its path) in a worker thread, RGBA when `alpha`, else RGB,
 * shrunk there to fit `box` when larger; gives up (ending the worker) after `timeoutMs`, counted
 * from when the thread is ready: starting it (when no upload announced a HEIC, or the decode
 * follows an idle thread's exit) is not the photo's time.
 */
export async function decodeHeif(
  input: Buffer | string,
  maxPixels: number,
  timeoutMs: number,
  alpha: boolean,
  box?: number,
): Promise<DecodedHeif> {
  const bytes = Buffer.isBuffer(input) ? input : await readFile(input);
  try {
    const { memoryBytes, ...decoded } = await heifWorker.run<DecodedHeif & { memoryBytes: number }>(
      { bytes, maxPixels, alpha, box } satisfies HeifTask,
      timeoutMs,
    );
    if (memoryBytes > KEEP_DECODER_MEMORY) heifWorker.endWhenIdle(END_LARGE_DECODER_MS);
    return decoded;
  } catch (error) {
    throw new HeifDecodeError(error);
  }
}

/**
 * Gives decoded pixels' memory back now (up to 16 MB: a picture's at the master's size), once
 * nothing reads them any more: left to the garbage collector, V8 keeps up to 64 MB of such buffers
 * alive past their use (with four HEIC uploads at once, two or three decoded photos). Transferring
 * the buffer into a message nobody receives detaches it, and closing the channel drops the message
 * and its memory.
 */
export function releasePixels(decoded: DecodedHeif): void {
  const { port1, port2 } = new MessageChannel();
  port1.postMessage(null, [decoded.data.buffer as ArrayBuffer]);
  port1.close();
  port2.close();
}

/**
 * A HEIC upload has begun to arrive: the thread starts and readies its decoder (about 150 ms of a
 * 12 MP photo's first decode after 30 s idle) while the rest of the file arrives, not once its
 * decode is due.
 */
export function expectHeifDecode(): void {
  heifWorker.ready().catch(() => undefined);
}

/** Where the decoder's thread stands: none, starting, or ready to decode. */
export function heifDecoderState(): WorkerState {
  return heifWorker.state();
}

/** Ends the worker threads (tests and shutdown). */
export function closeHeifPool(): Promise<void> {
  return heifWorker.close();
}
