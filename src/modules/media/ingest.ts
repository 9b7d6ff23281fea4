import { randomBytes } from 'node:crypto';
import { rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { buffer } from 'node:stream/consumers';
import type { ImageConfig, VideoConfig } from '../../config.js';
import { ApiError, serviceUnavailable } from '../../errors.js';
import { privateUploadFolder, uploadBytes, type DeclaredFile, type UploadedFile } from '../../http/multipart.js';
import { QueueFullError, type WorkLimiter } from '../../images/limiter.js';
import type { PictureAnalysis, PictureFocus } from '../../images/analysis.js';
import { expectFaceCheck } from '../../images/faces.js';
import { expectHeifDecode } from '../../images/heif.js';
import { INVALID_IMAGE_MESSAGE, InvalidImageError } from '../../images/checks.js';
import { sanitiseImage, type EncodedMaster, type ImageOutputs, type SanitisedImage } from '../../images/sanitise.js';
import type { VariantImage } from '../../images/variants.js';
import type { ImageWork } from '../../images/work.js';
import type { Log } from '../../log.js';
import { newObjectName, newVariantSet, variantName } from '../../storage/names.js';
import { IMMUTABLE_CACHE_CONTROL, type Storage } from '../../storage/types.js';
import {
  INVALID_VIDEO_MESSAGE,
  InvalidVideoError,
  posterFrame,
  probeVideo,
  remuxVideo,
  VideoToolsMissingError,
} from '../../video/ffmpeg.js';
import { isPdf } from './documents.js';
import type { StoredVariant } from './references.js';
import { WriteGroup } from './writes.js';

/** A picture's size, placeholder and variants, recorded in `pictures` under the master's name. */
export interface StoredPicture {
  width: number;
  height: number;
  placeholder: string | null;
  variantSet: string;
  variants: StoredVariant[];
  /** Faces, focus, hints and capture date (null for a picture whose check did not run). */
  analysis: PictureAnalysis | null;
}

/** A file as stored: its server-made name and what it became (a PDF has no pixel size). */
export interface StoredFile {
  name: string;
  bytes: number;
  width: number;
  height: number;
  format: string;
  /** A photo's capture date, when its metadata had one. */
  capturedAt?: string;
  /** A video's poster frame (a JPEG stored beside it) and its length. */
  poster?: string;
  durationSeconds?: number;
  /** A picture's placeholder and responsive variants (profile pictures, item photos, gallery photos). */
  picture?: StoredPicture;
}

/** Every stored name a StoredFile brought (a video brings its poster, a picture its variants). */
export const storedNames = (file: StoredFile): string[] => [
  file.name,
  ...(file.poster ? [file.poster] : []),
  ...(file.picture?.variants.map((variant) => variant.name) ?? []),
];

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
/**
 * What iPhones and browsers declare for a HEIC or HEIF file: its type, or (where a browser knows
 * no type) its name. An AVIF needs no decoder thread: sharp decodes it, and its colours are read
 * from its header.
 */
const HEIF_DECLARED = /^image\/hei[cf](-sequence)?$/i;
const HEIF_NAME = /\.hei[cf]$/i;
const VIDEO_BUSY_MESSAGE = 'The server is busy processing videos. Please retry shortly.';
export const VIDEOS_UNAVAILABLE_MESSAGE = 'This server cannot take videos right now: upload a photo (JPEG, PNG, GIF, WebP or AVIF).';

/** The 413 words, DRF's way: "Image file size cannot exceed 10 MB." (subject: "Video file", "File"). */
export function sizeLimitMessage(maxBytes: number, subject: 'Image file' | 'Video file' | 'File' = 'Image file'): string {
  const mb = maxBytes / (1024 * 1024);
  const amount = Number.isInteger(mb) ? `${mb} MB` : maxBytes % 1024 === 0 ? `${maxBytes / 1024} KB` : `${maxBytes} bytes`;
  return `${subject} size cannot exceed ${amount}.`;
}

/**
 * Turns uploads into stored files: images are decoded, validated and re-encoded without metadata
 * under a bounded concurrency, then written under a fresh server-made name.
 */
export class MediaIngest {
  constructor(
    private readonly deps: {
      storage: Storage;
      /** The process's image work: picture slots and decode gates. */
      imageWork: ImageWork;
      videoLimiter: WorkLimiter;
      images: ImageConfig;
      videos: VideoConfig;
      log: Log;
      observe: IngestObserver;
    },
  ) {}

  /** An image's work in one of the process's picture slots (QueueFullError when none is free and the queue is full). */
  private sanitise(input: Buffer | string, bytes: number, outputs?: ImageOutputs): Promise<SanitisedImage> {
    const { imageWork, images } = this.deps;
    return imageWork.picture(() => sanitiseImage(input, bytes, images, imageWork, outputs));
  }

  /** Whether pictures get a face check (FACE_CHECK). */
  get checksFaces(): boolean {
    return this.deps.images.faceCheckTimeoutMs > 0;
  }

  /**
   * A picture's file (or a gallery's file, which may be a video) has started to arrive: its face
   * check's models load now, and a HEIC's decoder thread starts, while the rest of
   * it arrives (after start-up, and once idle, neither is running). What the part declares is only
   * a hint: the bytes decide the format later. A file declared a video needs neither.
   */
  pictureArriving(declared: DeclaredFile): void {
    if (declared.mimeType.startsWith('video/')) return;
    if (HEIF_DECLARED.test(declared.mimeType) || HEIF_NAME.test(declared.filename)) expectHeifDecode();
    if (!this.checksFaces) return;
    expectFaceCheck().catch((error: unknown) => this.deps.log.warn({ err: error }, 'the face check could not load; this picture skips it'));
  }

  /** Refuse new image work before reading a body when the queue is already full. */
  assertCapacity(): void {
    if (this.deps.imageWork.saturated) throw serviceUnavailable(BUSY_MESSAGE, 5);
  }

  /**
   * An image: decoded once, re-encoded without metadata; with `variants`, the responsive variants
   * and placeholder are made from the same pixels and stored beside it, each under its own name.
   */
  async storeImage(file: UploadedFile, target: FileTarget, options: { variants: boolean } = { variants: false }): Promise<StoredFile> {
    const { log, observe } = this.deps;
    const started = performance.now();
    observe.uploaded(file.bytes);
    // Each output is written as soon as it is encoded (the master while the variants are still
    // being made), under names fixed before the image work starts.
    const writes = new WriteGroup(this.deps.storage);
    const variantSet = newVariantSet();
    let name: string | undefined;
    const onMaster = (master: EncodedMaster) => {
      name = newObjectName(target.folder, target.ownerId, master.extension);
      writes.put(name, master.buffer, master.contentType);
    };
    const outputs = options.variants
      ? {
          variantFormats: this.deps.images.variantFormats,
          faceCheckTimeoutMs: this.deps.images.faceCheckTimeoutMs,
          onMaster,
          onVariant: (variant: VariantImage) =>
            writes.put(this.variantNameOf(variant, target, variantSet), variant.buffer, `image/${variant.format}`),
        }
      : { variantFormats: [], onMaster };
    let image;
    try {
      image = await this.sanitise(file.content, file.bytes, outputs);
      observe.image(image.input.format, 'stored', (performance.now() - started) / 1000);
    } catch (error) {
      // What was written before the failure goes again (once every write started has ended).
      await writes.discard();
      if (error instanceof QueueFullError) throw serviceUnavailable(BUSY_MESSAGE, 5);
      if (error instanceof InvalidImageError) {
        observe.image('invalid', 'refused', (performance.now() - started) / 1000);
        log.debug({ field: target.field, filename: file.filename, bytes: file.bytes, reason: error.reason }, 'image refused');
        throw new ApiError(400, { [target.field]: error.detail ? [INVALID_IMAGE_MESSAGE, error.detail] : [INVALID_IMAGE_MESSAGE] });
      }
      throw error;
    }
    const processed = performance.now();
    if (name === undefined) {
      await writes.discard();
      throw new Error('the image pipeline gave no master');
    }
    const variants = this.variantsOf(image, target, variantSet);
    try {
      await writes.done();
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
        variants: variants.files.length,
        processMs: Math.round(processed - started),
        storeMs: Math.round(performance.now() - processed),
      },
      'image stored',
    );
    return {
      name,
      bytes: image.buffer.length,
      width: image.width,
      height: image.height,
      format: image.format,
      ...(image.capturedAt ? { capturedAt: image.capturedAt } : {}),
      ...(options.variants ? { picture: variants.picture } : {}),
    };
  }

  /** Writes every file, or none (see WriteGroup). */
  private async putAllOrNone(files: readonly { name: string; buffer: Buffer; contentType: string }[]): Promise<void> {
    const writes = new WriteGroup(this.deps.storage);
    for (const file of files) writes.put(file.name, file.buffer, file.contentType);
    await writes.done();
  }

  private variantNameOf(variant: VariantImage, target: FileTarget, variantSet: string): string {
    return variantName(target.folder, target.ownerId, variantSet, variant.shape, variant.width, variant.format);
  }

  /** Names for a sanitised image's variants (in `variantSet`), and the record that describes the picture. */
  private variantsOf(image: SanitisedImage, target: FileTarget, variantSet = newVariantSet()) {
    const files = image.variants.map((variant) => ({
      name: this.variantNameOf(variant, target, variantSet),
      buffer: variant.buffer,
      contentType: `image/${variant.format}`,
      variant,
    }));
    const picture: StoredPicture = {
      width: image.width,
      height: image.height,
      placeholder: image.placeholder ?? null,
      variantSet,
      analysis: image.analysis ?? null,
      variants: files.map(({ name, variant }) => ({
        name,
        shape: variant.shape,
        width: variant.width,
        height: variant.height,
        format: variant.format,
        bytes: variant.buffer.length,
      })),
    };
    return { files, picture };
  }

  /**
   * Variants and placeholder for a picture already stored (the backfill): decoded from its bytes
   * as an upload would be, only the variants are written; the master stays as it is.
   */
  async describeStored(bytes: Buffer, target: FileTarget): Promise<StoredPicture> {
    const outputs = { variantFormats: this.deps.images.variantFormats, faceCheckTimeoutMs: this.deps.images.faceCheckTimeoutMs };
    const image = await this.sanitise(bytes, bytes.length, outputs);
    const variants = this.variantsOf(image, target);
    await this.putAllOrNone(variants.files);
    return variants.picture;
  }

  /**
   * New variants of a stored picture framed around `focus` (the performer's), or around its first
   * face again when `focus` is null: decoded from the stored master (which stays as it is) and
   * written under a new variant set. The analysis is the stored one with the new focus.
   */
  async reframeStored(
    name: string,
    target: FileTarget,
    stored: PictureAnalysis | null,
    focus: PictureFocus | null,
    options: { analyse?: boolean } = {},
  ): Promise<StoredPicture> {
    const bytes = await this.readStored(name);
    const face = stored?.faces?.[0];
    const chosen: PictureFocus | null =
      focus ?? (face ? { x: face.x, y: face.y, width: face.width, height: face.height, source: 'face' } : null);
    // With `analyse`, the face check runs as on an upload (the picture had no analysis yet).
    const faceCheckTimeoutMs = options.analyse ? this.deps.images.faceCheckTimeoutMs : 0;
    const outputs = { variantFormats: this.deps.images.variantFormats, faceCheckTimeoutMs, ...(chosen ? { focus: chosen } : {}) };
    let image;
    try {
      image = await this.sanitise(bytes, bytes.length, outputs);
    } catch (error) {
      if (error instanceof QueueFullError) throw serviceUnavailable(BUSY_MESSAGE, 5);
      throw error;
    }
    const variants = this.variantsOf(image, target);
    try {
      await this.putAllOrNone(variants.files);
    } catch (error) {
      this.deps.log.error({ err: error, name }, 'storing reframed variants failed');
      throw serviceUnavailable('The image could not be stored right now. Please try again shortly.', 5);
    }
    const analysis: PictureAnalysis = stored
      ? { ...stored, focus: chosen }
      : options.analyse && image.analysis
        ? // A stored master has no metadata left: whether a camera made it cannot be told any more.
          { ...image.analysis, hints: image.analysis.hints.filter((hint) => hint !== 'screenshot') }
        : { faces: null, focus: chosen, hints: [], capturedAt: null };
    return { ...variants.picture, analysis };
  }

  /** A stored master's bytes: a 409 when it is gone, a 503 when storage cannot give it now. */
  private async readStored(name: string): Promise<Buffer> {
    let bytes: Buffer | undefined;
    try {
      const object = await this.deps.storage.get(name);
      bytes = object && (await buffer(object.body));
    } catch (error) {
      this.deps.log.error({ err: error, name }, 'reading a stored picture failed');
      throw serviceUnavailable('The picture could not be read right now. Please try again shortly.', 5);
    }
    if (!bytes) throw new ApiError(409, { detail: 'The picture is no longer stored. Please upload it again.' });
    return bytes;
  }

  /**
   * A video: probed with ffprobe before anything is stored (container, codecs, size, length on an
   * allow-list), remuxed without metadata into a fresh file, a poster frame taken and put through
   * the image pipeline, then both streamed to storage. The upload is never read into memory.
   */
  async storeVideo(file: UploadedFile, target: FileTarget): Promise<StoredFile> {
    const { log, observe, videos } = this.deps;
    observe.uploaded(file.bytes);
    const started = performance.now();
    const work = path.join(this.deps.images.uploadTmpDir, `video-${randomBytes(8).toString('hex')}`);
    const remuxed = `${work}.remuxed`;
    const frame = `${work}.poster.jpg`;
    // ffprobe and ffmpeg read files: a small video held in memory is written out for them.
    const input = Buffer.isBuffer(file.content) ? `${work}.input` : file.content;
    try {
      if (Buffer.isBuffer(file.content)) {
        await privateUploadFolder(this.deps.images.uploadTmpDir);
        await writeFile(input, file.content, { flag: 'wx', mode: 0o600 });
      }
      const prepared = await this.deps.videoLimiter.run(async () => {
        const probed = await probeVideo(input, videos);
        await remuxVideo(input, remuxed, probed, videos);
        await posterFrame(remuxed, frame, probed, videos);
        const { size } = await stat(frame);
        const poster = await this.sanitise(frame, size);
        return { probed, poster, bytes: (await stat(remuxed)).size };
      });
      observe.image('video', 'stored', (performance.now() - started) / 1000);
      const { probed, poster, bytes } = prepared;
      const name = newObjectName(target.folder, target.ownerId, probed.container);
      const posterName = newObjectName(target.folder, target.ownerId, poster.extension);
      try {
        await this.deps.storage.put(posterName, poster.buffer, {
          contentType: poster.contentType,
          cacheControl: IMMUTABLE_CACHE_CONTROL,
          newName: true,
        });
        await this.deps.storage.put(
          name,
          { path: remuxed, bytes },
          { contentType: `video/${probed.container}`, cacheControl: IMMUTABLE_CACHE_CONTROL, newName: true },
        );
      } catch (error) {
        log.error({ err: error, name }, 'storing a video failed');
        // Best effort; whatever stays is unreferenced and the media sweep removes it.
        await Promise.allSettled([this.deps.storage.delete(posterName), this.deps.storage.delete(name)]);
        throw serviceUnavailable('The video could not be stored right now. Please try again shortly.', 5);
      }
      log.debug(
        { ownerId: target.ownerId, name, bytesIn: file.bytes, bytesOut: bytes, codec: probed.videoCodec, seconds: probed.durationSeconds },
        'video stored',
      );
      return {
        name,
        bytes,
        width: probed.width,
        height: probed.height,
        format: probed.container,
        poster: posterName,
        durationSeconds: Math.round(probed.durationSeconds * 1000) / 1000,
      };
    } catch (error) {
      if (error instanceof QueueFullError) throw serviceUnavailable(VIDEO_BUSY_MESSAGE, 5);
      if (error instanceof InvalidVideoError || error instanceof InvalidImageError) {
        observe.image('video', 'refused', (performance.now() - started) / 1000);
        log.debug(
          { field: target.field, bytes: file.bytes, reason: error.message, ffmpeg: (error as InvalidVideoError).context },
          'video refused',
        );
        const detail = error instanceof InvalidVideoError ? error.detail : undefined;
        throw new ApiError(400, { [target.field]: detail ? [INVALID_VIDEO_MESSAGE, detail] : [INVALID_VIDEO_MESSAGE] });
      }
      if (error instanceof VideoToolsMissingError) {
        log.error({ err: error }, 'ffprobe/ffmpeg is not installed: videos are refused');
        throw new ApiError(400, { [target.field]: [VIDEOS_UNAVAILABLE_MESSAGE] });
      }
      throw error;
    } finally {
      await Promise.all([
        rm(remuxed, { force: true }),
        rm(frame, { force: true }),
        input === file.content ? undefined : rm(input, { force: true }),
      ]);
    }
  }

  /**
   * A document field (authenticity certificates): a PDF, checked by its bytes and stored as is,
   * or an image, which goes through exactly the image pipeline.
   */
  async storeDocument(file: UploadedFile, target: FileTarget): Promise<StoredFile> {
    if (!(await isPdf(file))) {
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
      await this.deps.storage.put(name, await uploadBytes(file), {
        contentType: 'application/pdf',
        cacheControl: IMMUTABLE_CACHE_CONTROL,
        contentDisposition: 'attachment',
        newName: true,
      });
    } catch (error) {
      this.deps.log.error({ err: error, name }, 'storing a document failed');
      throw serviceUnavailable('The file could not be stored right now. Please try again shortly.', 5);
    }
    this.deps.log.debug({ ownerId: target.ownerId, name, bytes: file.bytes }, 'document stored');
    return { name, bytes: file.bytes, width: 0, height: 0, format: 'pdf' };
  }
}
