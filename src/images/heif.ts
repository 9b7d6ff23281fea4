import { createReadStream } from 'node:fs';
import { open, readFile, type FileHandle } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { canvasOf, derivedImagesIn, DESCRIPTION_BYTES } from './heif-canvas.js';
import { declaredNclx, type HeifColours } from './heif-colours.js';
import { Truncated } from './isobmff.js';
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

/** probe-image-size's incremental HEIF/AVIF header reader (the box walk only; none of its HTTP side). */
interface MiafParser {
  push(chunk: Uint8Array): void;
  /** 0: wants more bytes; 1: done; 2: not a layout it reads. */
  getStatus(): 0 | 1 | 2;
  getResult(): { width: number; height: number; variants?: { width: number; height: number }[] } | undefined;
}
const { Parser: MiafHeaderParser } = createRequire(import.meta.url)('probe-image-size/lib/formats/avif.js') as {
  Parser: new () => MiafParser;
};

/** What a HEIF or AVIF file's header declares: see declaredHeifHeader. */
export interface HeifHeader {
  /**
   * Every image's size and every grid's or overlay's canvas; undefined when neither reader found
   * any (a header not in the layout the `ispe` reader follows, and no grid or overlay).
   */
  sizes: { width: number; height: number }[] | undefined;
  /** The primary image's `nclx` colours (declaredNclx), or null. */
  colours: HeifColours | null;
  /** A grid or overlay is declared whose canvas cannot be read: no decoder may be given the file. */
  damaged: boolean;
  /** The pixels of all the images its grids and overlays are made of, which a decoder decodes in full. */
  derivedInputPixels: number;
}

/** How much of a file's start is kept for the colour read: `meta` is a few kB (an ICC profile at most). */
const HEADER_KEPT_BYTES = 1024 * 1024;

/**
 * What a HEIF or AVIF file declares in its header boxes, read before any decoder sees the file.
 * The sizes of all its images (the `ispe` property of each: the primary image, its tiles,
 * thumbnails, auxiliary images): libvips reads only the primary image's, and one whose side is over
 * what it can hold (100 million pixels) it reads as 1 pixel wide, with a GLib warning on the
 * process's stderr. The canvas of each grid and overlay (heif-canvas.ts), which the decoders
 * allocate whatever its `ispe` says; `damaged` when one is declared and its canvas cannot be read.
 * The `ispe` sizes are undefined when the header is not in the layout their reader follows (`meta`
 * before `mdat`, 32-bit box sizes, at most 100 sizes): every phone and encoder writes that layout;
 * for any other the decoders' own limits apply (and say why a file cannot be read). And the
 * primary image's `nclx` colours, which neither decoder applies: read here rather than by libheif
 * in its thread, so an AVIF (which sharp decodes itself) never starts that thread or waits behind
 * a HEIC's decode there. From a file on disk, reading stops once `meta` is read.
 */
export async function declaredHeifHeader(input: Buffer | string): Promise<HeifHeader> {
  const parser = new MiafHeaderParser();
  const kept: Buffer[] = [];
  let sizes: HeifHeader['sizes'];
  try {
    if (Buffer.isBuffer(input)) parser.push(input);
    else {
      let keptBytes = 0;
      for await (const chunk of createReadStream(input, { highWaterMark: 64 * 1024 }) as AsyncIterable<Buffer>) {
        if (keptBytes < HEADER_KEPT_BYTES) {
          kept.push(chunk);
          keptBytes += chunk.length;
        }
        parser.push(chunk);
        // Done, failed, or past `meta` (what it reads next, the EXIF orientation, is not needed).
        if (parser.getStatus() !== 0 || parser.getResult()) break;
      }
    }
    const found = parser.getResult();
    sizes = found && (found.variants ?? [{ width: found.width, height: found.height }]);
  } catch {
    // Unreadable: the decoders, which read it next, say why.
    sizes = undefined;
  }
  let head = Buffer.isBuffer(input) ? input : Buffer.concat(kept);
  try {
    let derived = derivedImagesIn(head, Buffer.isBuffer(input));
    // `meta` past the start kept (after a large `mdat`): the whole file, which the upload limit bounds.
    if (derived === undefined && !Buffer.isBuffer(input)) derived = derivedImagesIn((head = await readFile(input)), true);
    const canvases = await Promise.all(
      (derived ?? []).map(async (image) => canvasOf(image.type, image.bytes ?? (await bytesAt(input, head, image.extents)))),
    );
    if (canvases.length > 0) sizes = [...(sizes ?? []), ...canvases];
    const derivedInputPixels = (derived ?? []).reduce((sum, image) => sum + image.inputPixels, 0);
    return { sizes, colours: declaredNclx(head), damaged: false, derivedInputPixels };
  } catch (error) {
    if (!(error instanceof Truncated || error instanceof RangeError)) throw error;
    return { sizes, colours: null, damaged: true, derivedInputPixels: 0 };
  }
}

/**
 * The first DESCRIPTION_BYTES of `extents` of the file: from `head` (its start) where it holds them,
 * the rest read from the file, opened once.
 */
async function bytesAt(input: Buffer | string, head: Buffer, extents: { offset: number; length: number }[]): Promise<Buffer> {
  const parts: Buffer[] = [];
  let file: FileHandle | undefined;
  try {
    let wanted = DESCRIPTION_BYTES;
    for (const { offset, length } of extents) {
      if (wanted <= 0) break;
      const take = Math.min(length === 0 ? wanted : length, wanted);
      let part = head.subarray(offset, offset + take);
      if (part.length < take && !Buffer.isBuffer(input)) {
        file ??= await open(input, 'r');
        const { buffer, bytesRead } = await file.read(Buffer.alloc(take), 0, take, offset);
        part = buffer.subarray(0, bytesRead);
      }
      if (part.length < take) throw new Truncated();
      parts.push(part);
      wanted -= take;
    }
  } finally {
    await file?.close();
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
 * Decodes a HEIF file (its bytes, or its path) in a worker thread, RGBA when `alpha`, else RGB;
 * gives up (ending the worker) after `timeoutMs`, counted from when the thread is ready: starting
 * it (when no upload announced a HEIC, or the decode follows an idle thread's exit) is not the
 * photo's time.
 */
export async function decodeHeif(input: Buffer | string, maxPixels: number, timeoutMs: number, alpha: boolean): Promise<DecodedHeif> {
  const bytes = Buffer.isBuffer(input) ? input : await readFile(input);
  try {
    return await heifWorker.run<DecodedHeif>({ bytes, maxPixels, alpha } satisfies HeifTask, timeoutMs);
  } catch (error) {
    throw new HeifDecodeError(error);
  }
}

/**
 * Gives decoded pixels' memory back now (36 MB for a 12 MP photo), once nothing reads them any
 * more: left to the garbage collector, V8 keeps up to 64 MB of such buffers alive past their use
 * (with four HEIC uploads at once, two or three decoded photos). Transferring the buffer into a
 * message nobody receives detaches it, and closing the channel drops the message and its memory.
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
