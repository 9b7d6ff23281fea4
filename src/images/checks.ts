import { open } from 'node:fs/promises';
import sharp, { type Metadata, type SharpOptions } from 'sharp';
import { gifFrames } from './gif-frames.js';
import { declaredHeifHeader, type HeifHeader } from './heif.js';
import type { HeifColours } from './heif-colours.js';
import { iccIsBounded } from './icc.js';
import { jpegMarkers, MAX_JPEG_SCANS, MAX_JPEG_SEGMENTS, type JpegMarkerCounts } from './jpeg-markers.js';
import { withoutCostlyText } from './png-text.js';
import { MAX_WEBP_CHUNKS, webpChunks } from './webp-chunks.js';

// What an upload must pass before any of its pixels is decoded: its format by its magic bytes, the
// walks over its own structure (HEIF boxes, JPEG markers, WebP chunks, GIF blocks) that bound what
// a decoder would allocate or walk, then libvips' read of its header.

export type InputFormat = 'jpeg' | 'png' | 'gif' | 'webp' | 'avif' | 'heic';

export interface ImageLimits {
  maxPixels: number;
  /** The pixel limit for AVIF (its canvas, its images, its tiles together), never above maxPixels. */
  maxAvifPixels: number;
  maxDimension: number;
  /** Animation frames an upload may declare (only the first is kept, but every one is parsed). */
  maxFrames: number;
  /** How long a HEIC decode may take in its worker thread. */
  heifTimeoutMs: number;
}

export const INVALID_IMAGE_MESSAGE = 'Upload a valid image. The file you uploaded was either not an image or a corrupted image.';

/** The upload is not an image we accept; `detail` is a second, more specific message when one helps. */
export class InvalidImageError extends Error {
  /** `cause`: what the decoder said, for the log (never shown to the user). */
  constructor(
    readonly detail?: string,
    options?: ErrorOptions,
  ) {
    super(detail ?? INVALID_IMAGE_MESSAGE, options);
    this.name = 'InvalidImageError';
  }

  /**
   * For the log: the detail, or what the decoder said (the messages of the causes, outermost first,
   * each on one line: of libvips' lines, the first and the last, which says what was wrong).
   */
  get reason(): string | undefined {
    if (this.detail) return this.detail;
    const messages: string[] = [];
    for (let cause = this.cause; cause instanceof Error && messages.length < 4; cause = cause.cause) {
      // libheif's errors end with their code on a line of its own: " (6.1000)".
      const lines = cause.message
        .replace(/\n\s*(\(\d+(\.\d+)?\))\s*$/, ' $1')
        .split('\n')
        .filter((line) => line.trim() !== '');
      messages.push(lines.length > 2 ? `${lines[0]} … ${lines.at(-1)}` : lines.join(' '));
    }
    return messages.length > 0 ? messages.join(': ').slice(0, 1000) : undefined;
  }
}

// The ISOBMFF major brands of HEIF still images (HEVC-coded, or any codec for mif1/msf1).
const HEIF_BRANDS = new Set(['heic', 'heix', 'heim', 'heis', 'hevc', 'hevx', 'mif1', 'msf1']);

/**
 * The format by magic bytes: only these ever reach a decoder (no SVG, PDF, TIFF...). A generic
 * HEIF brand is told apart by its codec from the header: HEVC is HEIC, AV1 is AVIF.
 */
function sniffFormat(header: Buffer): InputFormat | 'heif' | undefined {
  if (header.length >= 3 && header[0] === 0xff && header[1] === 0xd8 && header[2] === 0xff) return 'jpeg';
  if (header.length >= 8 && header.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'png';
  const ascii = header.toString('latin1');
  if (ascii.startsWith('GIF87a') || ascii.startsWith('GIF89a')) return 'gif';
  if (ascii.startsWith('RIFF') && ascii.slice(8, 12) === 'WEBP') return 'webp';
  if (ascii.slice(4, 8) === 'ftyp' && /^avi[fs]$/.test(ascii.slice(8, 12))) return 'avif';
  if (ascii.slice(4, 8) === 'ftyp' && HEIF_BRANDS.has(ascii.slice(8, 12))) return 'heif';
  return undefined;
}

async function readHeader(input: Buffer | string, length: number): Promise<Buffer> {
  if (Buffer.isBuffer(input)) return input.subarray(0, length);
  const handle = await open(input, 'r');
  try {
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await handle.read(buffer, 0, length, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/**
 * The longest side an upload may have, whatever its pixel count. libvips works through a picture
 * in strips of whole rows, each thread holding its own, so its memory grows with the width: here a
 * 94 kB PNG of 8 000 000 × 4 pixels (32 MP, under the pixel limit) took the process to 2.9 GB, one
 * of 500 000 × 78 to 490 MB, while one of 32 768 × 1200 took 180 MB and a 12 000 × 3300 panorama
 * 150 MB. No camera or phone writes a side near it (JPEG and GIF stop at 65 535).
 */
export const MAX_IMAGE_SIDE = 32_768;

/**
 * How many times the pixel limit the images a HEIF's grids and overlays are made of may add up to.
 * A grid's tiles cover its canvas, the last row and column cut: an iPhone's 48 tiles of 512 × 512
 * are 12.6 MP for a 12.2 MP photo. Twice the limit leaves room for any real grid.
 */
const DERIVED_INPUT_FACTOR = 2;

/**
 * How many times the AVIF limit an AVIF's tiles may add up to. sharp's libheif decodes an AVIF
 * grid's tiles side by side, each with a libaom decoder of its own (about 8.5 bytes a pixel, on top
 * of the canvas's 9), so tiles may only overhang the canvas, as a grid's last row and column do:
 * two tiles of 4096 × 4096 on a canvas of 8192 × 2048 took the process to 636 MB.
 */
const AVIF_TILES_FACTOR = 1.25;

/**
 * The largest interlaced PNG of 16 bits a channel. Its decoder holds every row of the whole picture
 * at 16 bits before the first is passed on: one of 8320 × 6250 (a 625 kB file) took a process to
 * 592 MB with alpha and 450 MB without, where the same picture not interlaced took 234 MB and
 * interlaced at 8 bits 342 MB. At 4096 × 4096 it is about 260 MB. No photo comes near it under the
 * upload size limit: 16 bits a channel of a photograph take several bytes a pixel.
 */
export const MAX_DEEP_INTERLACED_PNG_PIXELS = 4096 * 4096;

/**
 * How many tracks' worth of frames an image sequence may declare in all: an animated AVIF has one
 * track of colour and may have one of transparency.
 */
const SEQUENCE_TRACKS = 4;

const megapixels = (pixels: number, decimals = 1) => `${Math.round((pixels / 1_000_000) * 10 ** decimals) / 10 ** decimals}`;

/** `pixels` over `limit`, both in megapixels with as many decimals as tell them apart (so never "21 … the limit is 21"). */
function megapixelsOver(pixels: number, limit: number): [string, string] {
  let decimals = 1;
  while (decimals < 6 && megapixels(pixels, decimals) === megapixels(limit, decimals)) decimals++;
  return [megapixels(pixels, decimals), megapixels(limit, decimals)];
}

/** An upload that passed every check before its pixels are decoded: what its decode needs. */
export interface CheckedUpload {
  format: InputFormat;
  /** What the decoder reads: the upload, or a PNG without its costly text chunks. */
  source: Buffer | string;
  /** The header as libvips read it, without an embedded profile that is not to be used (see iccIsBounded). */
  metadata: Metadata;
  /** The embedded profile is not to be applied. */
  ignoreIcc: boolean;
  width: number;
  height: number;
  frames: number;
  /** The primary image's `nclx` colours of a HEIF or AVIF, or null. */
  declaredColours: HeifColours | null;
}

/** How libvips reads every upload: failing on a warning, the first frame only, under the pixel limit. */
export const decoderOptions = (limits: ImageLimits): SharpOptions => ({
  limitInputPixels: limits.maxPixels,
  failOn: 'warning',
  animated: false,
});

/** The upload (its bytes, or its path) checked; an InvalidImageError saying why when it fails. */
export async function checkedUpload(input: Buffer | string, bytes: number, limits: ImageLimits): Promise<CheckedUpload> {
  if (bytes === 0) throw new InvalidImageError('The submitted file is empty.');
  const sniffed = sniffFormat(await readHeader(input, 32));
  if (!sniffed) throw new InvalidImageError();
  const structure = await checkedStructure(input, sniffed, limits);
  // A PNG's text chunks cost the decoder (a compressed one is inflated) and none is kept: a PNG with costly ones is decoded without them (see withoutCostlyText).
  const source = sniffed === 'png' ? await withoutCostlyText(input) : input;
  return { ...(await checkedHeader(source, sniffed, structure, limits)), source, declaredColours: structure.heifHeader?.colours ?? null };
}

/** What the walks over a file's structure read, for the header's checks. */
interface Structure {
  heifHeader: HeifHeader | undefined;
  /** The largest image or canvas a HEIF or AVIF declares. */
  largest: { width: number; height: number } | undefined;
  markers: JpegMarkerCounts | undefined;
}

const tooManyFrames = (frames: number, limits: ImageLimits) =>
  new InvalidImageError(`Image has ${frames} frames; the limit is ${limits.maxFrames}.`);
const tooLarge = (width: number, height: number, limits: ImageLimits) =>
  new InvalidImageError(`Image is ${width}×${height} pixels; the limit is ${megapixels(limits.maxPixels)} megapixels.`);

/** The walks made before libvips reads anything: what they find costly is refused here. */
async function checkedStructure(input: Buffer | string, sniffed: InputFormat | 'heif', limits: ImageLimits): Promise<Structure> {
  // Every image and canvas a HEIF or AVIF declares, before libvips reads the primary one's size, and the colours it declares (see declaredHeifHeader).
  const heifHeader = sniffed === 'avif' || sniffed === 'heif' ? await declaredHeifHeader(input) : undefined;
  if (heifHeader?.damaged) throw new InvalidImageError();
  const [largest] = (heifHeader?.sizes ?? []).sort((a, b) => b.width * b.height - a.width * a.height);
  if (largest && largest.width * largest.height > limits.maxPixels) throw tooLarge(largest.width, largest.height, limits);
  // Tiles are decoded whole, whatever the canvas shows of them: a grid's may add up to a little over its canvas, not to many pictures.
  if (heifHeader && heifHeader.derivedInputPixels > DERIVED_INPUT_FACTOR * limits.maxPixels) {
    const [tiles, limit] = megapixelsOver(heifHeader.derivedInputPixels, DERIVED_INPUT_FACTOR * limits.maxPixels);
    throw new InvalidImageError(`Image is made of tiles of ${tiles} megapixels in all; the limit is ${limit} megapixels.`);
  }

  // An image sequence's tracks are indexed from the samples they declare as the file is opened (see HeifHeader.sequence).
  if (heifHeader && heifHeader.sequence.frames > limits.maxFrames) throw tooManyFrames(heifHeader.sequence.frames, limits);
  if (heifHeader && heifHeader.sequence.samples > SEQUENCE_TRACKS * limits.maxFrames) {
    throw new InvalidImageError(
      `Image is a sequence of ${heifHeader.sequence.samples} frames in all its tracks; the limit is ${SEQUENCE_TRACKS * limits.maxFrames}.`,
    );
  }

  // A JPEG's marker segments cost libvips' header read itself: their number is bounded first (see MAX_JPEG_SEGMENTS).
  const markers = sniffed === 'jpeg' ? await jpegMarkers(input) : undefined;
  if (markers && markers.segments > MAX_JPEG_SEGMENTS) {
    throw new InvalidImageError(
      `Image is a JPEG of more than ${MAX_JPEG_SEGMENTS} metadata blocks; the limit is ${MAX_JPEG_SEGMENTS}. Save it again from any photo editor.`,
    );
  }

  // A WebP's chunks cost libwebp's demuxer, which reads them all before libvips sees the picture: their number is bounded first (see MAX_WEBP_CHUNKS).
  const chunks = sniffed === 'webp' ? await webpChunks(input) : undefined;
  if (chunks && chunks.others > MAX_WEBP_CHUNKS) {
    throw new InvalidImageError(
      `Image is a WebP of more than ${MAX_WEBP_CHUNKS} metadata blocks; the limit is ${MAX_WEBP_CHUNKS}. Save it again from any photo editor.`,
    );
  }
  // libvips' header read walks and records every frame of an animation: a GIF's and a WebP's are counted from their blocks first.
  const counted = sniffed === 'gif' ? await gifFrames(input) : chunks?.frames;
  if (counted !== undefined && counted > limits.maxFrames) throw tooManyFrames(counted, limits);
  return { heifHeader, largest, markers };
}

/** libvips' read of the header (no pixels decoded), and the checks of what it says. */
async function checkedHeader(source: Buffer | string, sniffed: InputFormat | 'heif', structure: Structure, limits: ImageLimits) {
  const { heifHeader, largest, markers } = structure;
  let metadata: Metadata;
  try {
    // The pixel limit is checked below, with the dimensions in the message.
    metadata = await sharp(source, { ...decoderOptions(limits), limitInputPixels: false }).metadata();
  } catch (error) {
    throw new InvalidImageError(undefined, { cause: error });
  }
  const format = sniffed === 'heif' ? heifFormat(metadata) : sniffed;
  const expected = format === 'avif' || format === 'heic' ? 'heif' : format;
  if (metadata.format !== expected || (format === 'avif' && metadata.compression !== 'av1')) throw new InvalidImageError();
  const width = metadata.width ?? 0;
  const height = metadata.height ?? 0;
  if (width <= 0 || height <= 0) throw new InvalidImageError();
  if (width * height > limits.maxPixels) throw tooLarge(width, height, limits);
  // libaom decodes an AVIF at about 17 bytes a pixel (a 983-byte AVIF of 7200 × 7200 took the process to 1 GB): AVIF has a limit of its own.
  if (format === 'avif') {
    const avifLimit = Math.min(limits.maxAvifPixels, limits.maxPixels);
    const declared = largest && largest.width * largest.height > width * height ? largest : { width, height };
    if (declared.width * declared.height > avifLimit) {
      throw new InvalidImageError(
        `Image is an AVIF of ${declared.width}×${declared.height} pixels; the limit for AVIF is ${megapixels(avifLimit)} megapixels. Save it as JPEG, or smaller.`,
      );
    }
    if (heifHeader && heifHeader.derivedInputPixels > AVIF_TILES_FACTOR * avifLimit) {
      const [tiles, limit] = megapixelsOver(heifHeader.derivedInputPixels, AVIF_TILES_FACTOR * avifLimit);
      throw new InvalidImageError(
        `Image is an AVIF made of tiles of ${tiles} megapixels in all; the limit for AVIF is ${limit} megapixels.`,
      );
    }
  }
  // An interlaced PNG of 16 bits a channel is held whole while it decodes (see MAX_DEEP_INTERLACED_PNG_PIXELS).
  if (
    format === 'png' &&
    metadata.isProgressive === true &&
    metadata.depth === 'ushort' &&
    width * height > MAX_DEEP_INTERLACED_PNG_PIXELS
  ) {
    throw new InvalidImageError(
      `Image is an interlaced PNG of 16 bits a channel and ${width}×${height} pixels; the limit for such a PNG is ${megapixels(MAX_DEEP_INTERLACED_PNG_PIXELS)} megapixels. Save it without interlacing, or at 8 bits.`,
    );
  }
  if (Math.max(width, height) > MAX_IMAGE_SIDE) {
    throw new InvalidImageError(`Image is ${width}×${height} pixels; the limit is ${MAX_IMAGE_SIDE} pixels a side.`);
  }

  // A progressive JPEG decodes in one pass over the picture per scan: their number is bounded (see MAX_JPEG_SCANS).
  if (markers && markers.scans > MAX_JPEG_SCANS) {
    throw new InvalidImageError(
      `Image is a progressive JPEG of more than ${MAX_JPEG_SCANS} scans; the limit is ${MAX_JPEG_SCANS}. Save it again from any photo editor.`,
    );
  }

  const frames = metadata.pages ?? 1;
  if (frames > limits.maxFrames) throw tooManyFrames(frames, limits);

  // An embedded profile littleCMS cannot use at a bounded cost is not used (see iccIsBounded).
  const ignoreIcc = metadata.icc !== undefined && !iccIsBounded(metadata.icc);
  if (ignoreIcc) metadata = { ...metadata, icc: undefined };
  return { format, metadata, ignoreIcc, width, height, frames };
}

/** A generic HEIF brand's codec, from the header: HEVC is HEIC, AV1 is AVIF; anything else is refused. */
function heifFormat(metadata: Metadata): 'heic' | 'avif' {
  if (metadata.format === 'heif' && metadata.compression === 'hevc') return 'heic';
  if (metadata.format === 'heif' && metadata.compression === 'av1') return 'avif';
  throw new InvalidImageError();
}
