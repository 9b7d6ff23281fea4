import exifReader from 'exif-reader';
import sharp, { type Metadata, type Sharp } from 'sharp';
import type { PictureAnalysis, PictureFocus } from './analysis.js';
import { checkedUpload, decoderOptions, InvalidImageError, type CheckedUpload, type ImageLimits, type InputFormat } from './checks.js';
import { inSrgb, profileDeclaredBy } from './colour.js';
import { decodeHeif, releasePixels, type DecodedHeif } from './heif.js';
import type { HeifColours } from './heif-colours.js';
import { describePicture, type VariantFormat, type VariantImage } from './variants.js';
import type { DecodeGates } from './work.js';

// No libvips operation cache: every upload is new, and cached pixels would only hold memory.
sharp.cache(false);

export type OutputFormat = 'jpeg' | 'png' | 'webp';

/**
 * What to make beside the master: responsive variants in these formats (none: []), a placeholder,
 * and, with variants, the analysis (a face check of at most `faceCheckTimeoutMs`; 0: none).
 */
export interface ImageOutputs {
  variantFormats: readonly VariantFormat[];
  faceCheckTimeoutMs?: number;
  /** A frame set by the performer (re-framing a stored picture). */
  focus?: PictureFocus;
  /**
   * Called with the master as soon as it is encoded, and with each variant as soon as it is, before
   * sanitiseImage resolves: a caller can store them while the rest is still being made.
   */
  onMaster?: (master: EncodedMaster) => void;
  onVariant?: (variant: VariantImage) => void;
}

/** The master as encoded: its bytes and how it is stored and served. */
export interface EncodedMaster {
  buffer: Buffer;
  format: OutputFormat;
  extension: 'jpg' | 'png' | 'webp';
  contentType: string;
}

export interface SanitisedImage extends EncodedMaster {
  width: number;
  height: number;
  input: { format: InputFormat; width: number; height: number; bytes: number; frames: number };
  /** When the photo was taken (EXIF DateTimeOriginal), read before the metadata is dropped; nothing else of it is kept. */
  capturedAt: string | undefined;
  /** Responsive variants made from the master's pixels (when asked for). */
  variants: VariantImage[];
  /** ThumbHash of the picture, base64 (when variants were asked for). */
  placeholder: string | undefined;
  /** Faces, focus, hints and capture date (when variants were asked for). */
  analysis: PictureAnalysis | undefined;
}

const EARLIEST_CAPTURE = Date.UTC(1990, 0, 1);

/**
 * The EXIF capture date as an ISO timestamp, or undefined when absent, unreadable or implausible
 * (before 1990 or more than a day ahead: an unset camera clock). EXIF dates carry no zone; they are
 * read as UTC, which is close enough for "taken 8 months ago".
 */
export function captureDateOf(exif: Buffer | undefined, now = Date.now()): string | undefined {
  if (!exif) return undefined;
  try {
    const taken = exifReader(exif).Photo?.DateTimeOriginal;
    if (!(taken instanceof Date)) return undefined;
    const time = taken.getTime();
    return Number.isFinite(time) && time >= EARLIEST_CAPTURE && time <= now + 86_400_000 ? taken.toISOString() : undefined;
  } catch {
    return undefined;
  }
}

/** Whether EXIF names the camera (Make or Model): photos do, screenshots and exports mostly do not. */
function namesCamera(exif: Buffer | undefined): boolean {
  if (!exif) return false;
  try {
    const image = exifReader(exif).Image;
    return Boolean(image?.Make || image?.Model);
  } catch {
    return false;
  }
}

/**
 * Decodes the upload once and re-encodes it: orientation applied, every metadata block dropped
 * (GPS, camera serials, comments, ICC), longest side capped, first frame only. Whatever else the
 * file carried (a polyglot's HTML, trailing bytes) does not survive. From the same pixels come the
 * responsive variants and the placeholder, when asked for. A large upload's decode waits for its
 * gate in `gates` (the process's ImageWork).
 */
export async function sanitiseImage(
  input: Buffer | string,
  bytes: number,
  limits: ImageLimits,
  gates: DecodeGates,
  outputs: ImageOutputs = { variantFormats: [] },
): Promise<SanitisedImage> {
  const checked = await checkedUpload(input, bytes, limits);
  const { format, metadata, width, height, frames } = checked;
  const output = masterFormat(format, metadata.hasAlpha === true);
  const wanted = outputs.variantFormats.length > 0;
  // Without variants, one streamed pipeline (decode → orient → resize → encode) makes the master;
  // with them, the resized pixels are kept once in memory for the master, the variants and the placeholder.
  const sized = await decodedOnce(input, checked, limits, gates, wanted ? undefined : (image) => encodedAs(output, image));
  const { width: outWidth, height: outHeight, channels } = sized.info;
  const capturedAt = captureDateOf(metadata.exif);
  // The upload's own size as shown (the master's orientation), for the resolution and shape hints.
  const turned = outWidth > outHeight !== width > height;
  const upload = { width: turned ? height : width, height: turned ? width : height, camera: namesCamera(metadata.exif), capturedAt };
  const encoded = { format: output, extension: output === 'jpeg' ? ('jpg' as const) : output, contentType: `image/${output}` };
  const master = (buffer: Buffer) => {
    outputs.onMaster?.({ buffer, ...encoded });
    return buffer;
  };
  const [buffer, { variants, placeholder, analysis }] = wanted
    ? await Promise.all([
        encodedAs(output, sharp(sized.data, { raw: { width: outWidth, height: outHeight, channels } }))
          .toBuffer()
          .then(master),
        describePicture(
          { data: sized.data, width: outWidth, height: outHeight, channels },
          {
            formats: outputs.variantFormats,
            faceCheckTimeoutMs: outputs.faceCheckTimeoutMs ?? 0,
            upload,
            focus: outputs.focus,
            onVariant: outputs.onVariant,
          },
        ),
      ])
    : [master(sized.data), { variants: [], placeholder: undefined, analysis: undefined }];
  return {
    buffer,
    ...encoded,
    width: outWidth,
    height: outHeight,
    input: { format, width, height, bytes, frames },
    capturedAt,
    variants,
    placeholder,
    analysis,
  };
}

/**
 * The master's format: JPEG stays JPEG, PNG stays lossless PNG, GIF's first frame becomes lossless
 * PNG, WebP stays WebP, AVIF and HEIC become JPEG (or WebP when transparent) for every browser.
 */
function masterFormat(format: InputFormat, hasAlpha: boolean): OutputFormat {
  if (format === 'jpeg') return 'jpeg';
  if (format === 'png' || format === 'gif') return 'png';
  return format === 'webp' || hasAlpha ? 'webp' : 'jpeg';
}

function encodedAs(output: OutputFormat, image: Sharp): Sharp {
  if (output === 'jpeg') return image.jpeg({ quality: 85 });
  return output === 'png' ? image.png({ compressionLevel: 6 }) : image.webp({ quality: 85, alphaQuality: 100 });
}

/**
 * The upload decoded once (a large one after waiting for its gate in `gates`): oriented, in sRGB,
 * shrunk to fit the longest side kept. Raw pixels, or encoded by `encode` in the same pipeline.
 */
async function decodedOnce(
  input: Buffer | string,
  checked: CheckedUpload,
  limits: ImageLimits,
  gates: DecodeGates,
  encode?: (image: Sharp) => Sharp,
): Promise<{ data: Buffer; info: { width: number; height: number; channels: 1 | 2 | 3 | 4 } }> {
  const { format, source, metadata, ignoreIcc } = checked;
  const decode = async () => {
    const heic = format === 'heic' ? await decodedHeic(input, limits, metadata.hasAlpha === true) : undefined;
    try {
      const decoded = heic
        ? sharp(heic.data, { raw: { width: heic.width, height: heic.height, channels: heic.channels } })
        : sharp(source, { ...decoderOptions(limits), ignoreIcc }).rotate();
      const box = limits.maxDimension;
      const resized = await inSrgbColours(decoded.resize({ width: box, height: box, fit: 'inside', withoutEnlargement: true }), {
        format,
        heic: heic !== undefined,
        metadata,
        declared: checked.declaredColours,
      });
      return await (encode ? encode(resized) : resized.raw()).toBuffer({ resolveWithObject: true });
    } finally {
      if (heic) releasePixels(heic);
    }
  };
  // Decoders that hold several bytes a pixel of the whole picture wait for each other (see ImageWork).
  const heavy =
    format === 'heic' ||
    format === 'avif' ||
    format === 'gif' ||
    // A progressive JPEG's coefficients, an interlaced PNG's rows, 16 bits a channel: the whole picture is held.
    metadata.isProgressive === true ||
    (metadata.depth !== undefined && metadata.depth !== 'uchar');
  try {
    return await gates.decode(checked.width * checked.height, heavy, decode);
  } catch (error) {
    if (error instanceof InvalidImageError) throw error;
    throw new InvalidImageError(undefined, { cause: error });
  }
}

/**
 * The picture in sRGB, which is what every stored output is (their profiles are dropped). sharp
 * converts an 8-bit upload's embedded profile to sRGB as it decodes; a 16-bit one's it converts to
 * Display P3 and keeps there, so it is converted on to sRGB; a HEIC's pixels come from libheif
 * untouched by the container's profile (an iPhone's is Display P3). An AVIF or HEIC without a
 * profile may declare its colours in an `nclx` box instead, which neither decoder applies.
 */
async function inSrgbColours(
  image: Sharp,
  upload: { format: string; heic: boolean; metadata: Metadata; declared: HeifColours | null },
): Promise<Sharp> {
  const { format, heic, metadata, declared } = upload;
  if (metadata.icc) {
    if (heic) return inSrgb(image, metadata.icc);
    return metadata.space === 'rgb16' ? image.withIccProfile('srgb', { attach: false }) : image;
  }
  if (format !== 'heic' && format !== 'avif') return image;
  const profile = declared && (await profileDeclaredBy(declared));
  return profile ? inSrgb(image, profile) : image;
}

/**
 * A HEIC photo's pixels: decoded in a worker thread (sharp's own libheif cannot decode HEVC), with
 * the container's rotation and mirroring applied by libheif, so an EXIF orientation tag (which
 * HEIF readers must ignore) is never applied a second time.
 */
async function decodedHeic(input: Buffer | string, limits: ImageLimits, hasAlpha: boolean): Promise<DecodedHeif> {
  try {
    return await decodeHeif(input, limits.maxPixels, limits.heifTimeoutMs, hasAlpha, limits.maxDimension);
  } catch (error) {
    throw new InvalidImageError(undefined, { cause: error });
  }
}
