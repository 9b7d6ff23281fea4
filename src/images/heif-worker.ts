// Runs in a worker thread (see heif.ts): HEVC is decoded by libheif compiled to WebAssembly
// (libheif-js), so a 12 MP photo's second of decoding never blocks the event loop.
import { createRequire } from 'node:module';
import { formatWithOptions } from 'node:util';
import { move, transferableSymbol, valueSymbol } from 'piscina';
import sharp from 'sharp';

/** A decoded image's plane: a view of the decoder's WebAssembly memory, `stride` bytes per row. */
interface Plane {
  id: number;
  width: number;
  height: number;
  stride: number;
  data: Uint8Array;
}
/** A libheif context as libheif-js's bindings hand it out: `$$.ptr` is its address in the module's memory. */
interface HeifContext {
  $$?: { ptr?: unknown };
}
/** The parts of libheif-js's WebAssembly module used here (it ships no types for its module object). */
interface Libheif {
  ready: Promise<void>;
  heif_context_alloc(): HeifContext | null;
  heif_context_free(context: HeifContext): void;
  heif_context_read_from_memory(context: HeifContext, bytes: Uint8Array): { code: unknown; message?: string };
  /** libheif's C function, which takes the context's address. */
  _heif_context_set_maximum_image_size_limit(context: number, maximumWidth: number): void;
  heif_js_context_get_list_of_top_level_image_IDs(context: HeifContext): number[] & { code?: unknown };
  heif_js_context_get_image_handle(context: HeifContext, id: number): unknown;
  heif_image_handle_get_width(handle: unknown): number;
  heif_image_handle_get_height(handle: unknown): number;
  heif_image_handle_release(handle: unknown): void;
  heif_error_code: { heif_error_Ok: unknown };
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
  /** The longest side the caller keeps (MAX_IMAGE_DIMENSION): a larger picture is shrunk to fit it here. */
  box?: number;
}

/** Start the thread and its decoder (a HEIC upload has begun to arrive); nothing is decoded. */
export interface HeifWarmTask {
  warm: true;
}

/**
 * The primary image's pixels, interleaved RGB (or RGBA), 8 bits per channel, with the container's
 * rotation and mirroring applied by libheif. A picture whose longer side is over `box` is shrunk
 * to fit it here, by sharp reading the WebAssembly memory in place: the same resize the caller
 * would make, so its full-size pixels are never copied (a 48 MP photo's 146 MB) nor sent across.
 * Other pictures are copied once out of that memory into a buffer that is handed to the caller,
 * not copied again.
 */
export default async function decodeHeif(task: HeifTask | HeifWarmTask) {
  await libheif.ready;
  if ('warm' in task) return null;
  notes.length = 0;
  try {
    return await decode(task);
  } catch (error) {
    if (notes.length === 0) throw error;
    throw new Error(`${error instanceof Error ? error.message : String(error)} (the decoder said: ${notes.join(' | ')})`, { cause: error });
  }
}

/**
 * libheif with the upload's pixel limit as its own: no image it makes, whatever the file declares
 * (a grid's or an overlay's canvas, which it allocates before comparing it with the image's
 * declared size), may be larger. Its limit is a side's square, so the side is rounded up: fewer
 * than two rows' worth of pixels over the limit, which the header check before it holds exactly.
 */
function openFile(bytes: Uint8Array, maxPixels: number): HeifContext {
  const context = libheif.heif_context_alloc();
  if (!context) throw new Error('no HEIF context');
  const address = context.$$?.ptr;
  if (typeof address !== 'number') {
    libheif.heif_context_free(context);
    throw new Error('libheif-js no longer gives the context’s address: its image size limit cannot be set');
  }
  libheif._heif_context_set_maximum_image_size_limit(address, Math.ceil(Math.sqrt(maxPixels)));
  const read = libheif.heif_context_read_from_memory(context, bytes);
  if (read.code !== libheif.heif_error_code.heif_error_Ok) {
    libheif.heif_context_free(context);
    throw new Error(`libheif: ${read.message ?? 'the file cannot be read'}`);
  }
  return context;
}

async function decode(task: HeifTask) {
  const { maxPixels, alpha } = task;
  const context = openFile(task.bytes, maxPixels);
  const handles: unknown[] = [];
  try {
    const ids = libheif.heif_js_context_get_list_of_top_level_image_IDs(context);
    if (!Array.isArray(ids) || ids.code) throw new Error('no images in the file');
    for (const id of ids) {
      const handle = libheif.heif_js_context_get_image_handle(context, id);
      // Not a handle but libheif's error: said, for the log, should the file show nothing else.
      if (isHandle(handle)) handles.push(handle);
      else note('Could not get image data for id', id, handle);
    }
    // The picture a HEIF file shows is its primary item, which need not be its first image.
    const primary = handles.find((handle) => libheif.heif_image_handle_is_primary_image(handle) === 1);
    if (!primary) throw new Error('no primary image in the file');
    const width = libheif.heif_image_handle_get_width(primary);
    const height = libheif.heif_image_handle_get_height(primary);
    // The caller checked the primary image's size from the header; the one decoded here is checked too
    // (a handle's size is its decoded size, rotation and cropping applied), before any pixel is decoded.
    if (width * height > maxPixels) throw new Error(`image of ${width}x${height} is over the pixel limit`);
    const chroma = alpha ? libheif.heif_chroma.heif_chroma_interleaved_RGBA : libheif.heif_chroma.heif_chroma_interleaved_RGB;
    const decoded = libheif.heif_js_decode_image2(primary, libheif.heif_colorspace.heif_colorspace_RGB, chroma);
    if (!decoded || decoded.code) throw new Error(decoded?.message ? `libheif: ${decoded.message}` : 'HEIF decoding failed');
    try {
      const plane = decoded.channels.find((channel) => channel.id === libheif.heif_channel.heif_channel_interleaved);
      if (!plane) throw new Error('HEIF decoding gave no interleaved plane');
      const channels = alpha ? 4 : 3;
      // The decoded image must outlive sharp's read of it: it is released after the await, below.
      const { box } = task;
      const shrinks = box !== undefined && Math.max(plane.width, plane.height) > box && plane.stride % channels === 0;
      const pixels = shrinks ? await shrunk(plane, channels, box) : copied(plane, channels);
      // How large the decoder's memory has grown (the caller ends the thread soon when it is large).
      const memoryBytes = plane.data.buffer.byteLength;
      return move({ [transferableSymbol]: pixels.data.buffer, [valueSymbol]: { ...pixels, channels, memoryBytes } } as never);
    } finally {
      libheif.heif_image_release(decoded.image);
    }
  } finally {
    for (const handle of handles) libheif.heif_image_handle_release(handle);
    libheif.heif_context_free(context);
  }
}

/** Pixels handed to the caller, in a buffer of their own that is transferred, not copied. */
interface Pixels {
  width: number;
  height: number;
  data: Uint8Array;
}

/** The plane's pixels copied out of the WebAssembly memory, row by row where its rows are padded. */
function copied(plane: Plane, channels: number): Pixels {
  const row = plane.width * channels;
  const data = new Uint8Array(row * plane.height);
  if (plane.stride === row) data.set(plane.data.subarray(0, data.length));
  else for (let y = 0; y < plane.height; y++) data.set(plane.data.subarray(y * plane.stride, y * plane.stride + row), y * row);
  return { width: plane.width, height: plane.height, data };
}

/**
 * The plane shrunk to fit `box`, by sharp reading the WebAssembly memory in place (a padded row is
 * read as a wider picture, then cut). sharp's output is memory of its own, which Node 24 will not
 * transfer: it is copied (at most the master's size, 16 MB).
 */
async function shrunk(plane: Plane, channels: number, box: number): Promise<Pixels> {
  const view = Buffer.from(plane.data.buffer, plane.data.byteOffset, plane.stride * plane.height);
  const { data, info } = await sharp(view, { raw: { width: plane.stride / channels, height: plane.height, channels: channels as 3 | 4 } })
    .extract({ left: 0, top: 0, width: plane.width, height: plane.height })
    .resize({ width: box, height: box, fit: 'inside', withoutEnlargement: true })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data: new Uint8Array(data) };
}

/** A handle, not the `{code, message}` libheif-js gives for an image it cannot open. */
const isHandle = (handle: unknown): boolean => typeof handle === 'object' && handle !== null && !('code' in handle);
