// Runs in a worker thread (see heif.ts): HEVC is decoded by libheif compiled to WebAssembly
// (libheif-js), so a 12 MP photo's second of decoding never blocks the event loop.
import { createRequire } from 'node:module';
import { formatWithOptions } from 'node:util';
import { move, transferableSymbol, valueSymbol } from 'piscina';

/** A decoded image's plane: a view of the decoder's WebAssembly memory, `stride` bytes per row. */
interface Plane {
  id: number;
  width: number;
  height: number;
  stride: number;
  data: Uint8Array;
}
interface HeifImage {
  handle: unknown;
  get_width(): number;
  get_height(): number;
  free(): void;
}
/** The parts of libheif-js's WebAssembly module used here (it ships no types for its module object). */
interface Libheif {
  ready: Promise<void>;
  HeifDecoder: new () => { decode(bytes: Uint8Array): HeifImage[]; decoder: { delete(): void } | null };
  heif_js_decode_image2(
    handle: unknown,
    colorspace: number,
    chroma: number,
  ): { code?: unknown; message?: string; image: unknown; channels: Plane[] } | null;
  heif_image_release(image: unknown): void;
  heif_image_handle_is_primary_image(handle: unknown): number;
  heif_colorspace: { heif_colorspace_RGB: number };
  heif_chroma: { heif_chroma_interleaved_RGB: number; heif_chroma_interleaved_RGBA: number };
  heif_channel: { heif_channel_interleaved: number };
}

/**
 * What the decoder wrote about the file in hand. libheif-js tells what it finds wrong with a file
 * on the console (its JavaScript through the console's log method, libde265 through the error
 * method, which its WebAssembly module binds as it loads), and a worker thread's console is the
 * server's stdout and stderr: any damaged upload would put lines of text between the JSON log
 * lines. They are kept here instead, a few per task, and a failed task's error carries them; the
 * console methods are replaced before libheif-js loads.
 */
const notes: string[] = [];
const MAX_NOTES = 8;
const note = (...args: unknown[]) => {
  if (notes.length < MAX_NOTES) notes.push(formatWithOptions({ breakLength: Infinity, depth: 2 }, ...args).slice(0, 300));
};
// eslint-disable-next-line no-console -- nothing is written: the thread's console methods are replaced
for (const method of ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const) console[method] = note;

const require = createRequire(import.meta.url);
const libheif = require('libheif-js/wasm-bundle') as Libheif;

export interface HeifTask {
  bytes: Uint8Array;
  maxPixels: number;
  /** Keep the alpha channel (RGBA); otherwise RGB, a quarter less memory. */
  alpha: boolean;
}

/** Start the thread and its decoder (a HEIC upload has begun to arrive); nothing is decoded. */
export interface HeifWarmTask {
  warm: true;
}

/**
 * The primary image's pixels, interleaved RGB (or RGBA), 8 bits per channel, with the container's
 * rotation and mirroring applied by libheif. Copied once out of the WebAssembly memory into a buffer
 * that is handed to the caller, not copied again.
 */
export default async function decodeHeif(task: HeifTask | HeifWarmTask) {
  await libheif.ready;
  if ('warm' in task) return null;
  notes.length = 0;
  try {
    return decode(task);
  } catch (error) {
    if (notes.length === 0) throw error;
    throw new Error(`${error instanceof Error ? error.message : String(error)} (the decoder said: ${notes.join(' | ')})`, { cause: error });
  }
}

function decode(task: HeifTask) {
  const decoder = new libheif.HeifDecoder();
  const images = decoder.decode(task.bytes);
  try {
    // The picture a HEIF file shows is its primary item, which need not be its first image.
    const primary = images.find((image) => libheif.heif_image_handle_is_primary_image(image.handle) === 1);
    if (!primary) throw new Error('no primary image in the file');
    const { maxPixels, alpha } = task;
    // The caller checked the primary image's size from the header; the one decoded here is checked too
    // (a handle's size is its decoded size, rotation and cropping applied), before any pixel is decoded.
    if (primary.get_width() * primary.get_height() > maxPixels)
      throw new Error(`image of ${primary.get_width()}x${primary.get_height()} is over the pixel limit`);
    const chroma = alpha ? libheif.heif_chroma.heif_chroma_interleaved_RGBA : libheif.heif_chroma.heif_chroma_interleaved_RGB;
    const decoded = libheif.heif_js_decode_image2(primary.handle, libheif.heif_colorspace.heif_colorspace_RGB, chroma);
    if (!decoded || decoded.code) throw new Error(decoded?.message ? `libheif: ${decoded.message}` : 'HEIF decoding failed');
    try {
      const plane = decoded.channels.find((channel) => channel.id === libheif.heif_channel.heif_channel_interleaved);
      if (!plane) throw new Error('HEIF decoding gave no interleaved plane');
      const channels = alpha ? 4 : 3;
      const row = plane.width * channels;
      const data = new Uint8Array(row * plane.height);
      if (plane.stride === row) data.set(plane.data.subarray(0, data.length));
      else for (let y = 0; y < plane.height; y++) data.set(plane.data.subarray(y * plane.stride, y * plane.stride + row), y * row);
      const value = { width: plane.width, height: plane.height, channels, data };
      return move({ [transferableSymbol]: data.buffer, [valueSymbol]: value } as never);
    } finally {
      libheif.heif_image_release(decoded.image);
    }
  } finally {
    for (const image of images) image.free();
    decoder.decoder?.delete();
  }
}
