import sharp, { type Sharp } from 'sharp';
import { rgbaToThumbHash } from 'thumbhash';
import { analysePicture, frameAround, type Frame, type PictureAnalysis, type PictureFocus, type UploadFacts } from './analysis.js';
import { attentionPoint } from './attention.js';
import { detectFaces, FACE_INPUT_EDGE } from './faces.js';

/** The frames casting sites show: a square avatar and a 4:5 portrait card. */
export type VariantShape = 'avatar' | 'card';
export type VariantFormat = 'webp' | 'avif';

export interface VariantSpec {
  shape: VariantShape;
  width: number;
  height: number;
}

/** Avatars for lists and grids at 1×/2×/4×, cards for profile pages at 1×/2×. */
export const VARIANT_SPECS: readonly VariantSpec[] = [
  { shape: 'avatar', width: 96, height: 96 },
  { shape: 'avatar', width: 192, height: 192 },
  { shape: 'avatar', width: 384, height: 384 },
  { shape: 'card', width: 320, height: 400 },
  { shape: 'card', width: 640, height: 800 },
];

export interface VariantImage extends VariantSpec {
  format: VariantFormat;
  buffer: Buffer;
}

/** Decoded pixels, oriented and capped: what the master was encoded from. */
export interface RawPixels {
  data: Buffer;
  width: number;
  height: number;
  channels: 1 | 2 | 3 | 4;
}

const rawInput = (pixels: RawPixels) => ({ raw: { width: pixels.width, height: pixels.height, channels: pixels.channels } });

/**
 * The variants a picture of this size gets: every frame that needs no enlargement (a cover crop
 * scales by the larger of the two ratios). A picture smaller than every frame gets none; clients
 * then show the master.
 */
export function variantSpecsFor(width: number, height: number): VariantSpec[] {
  return VARIANT_SPECS.filter((spec) => Math.max(spec.width / width, spec.height / height) <= 1);
}

/**
 * WebP effort by shape. Avatars, which grids download by the dozen, at effort 2: on 55 real photos
 * (the face fixtures and the detector's demo pictures, cut to each frame) effort 1 made them 15–17 %
 * larger for at most 0.4 ms less each, and effort 4 3–4 % smaller in twice the time. Cards, one per
 * profile page, at effort 0: the 640 × 800 card is the largest encode of a picture, and on ten
 * wallpapers of Debian's plasma-workspace-wallpapers (nine photographs and a painting, 2560–5120
 * px) effort 0 encoded the cards in 13 and 4.7 ms instead of 20 and 6.5 ms, 20–22 % larger and
 * about as faithful (PSNR 36.9 and 35.7 dB against 36.6 and 35.5, SSIM within 0.001).
 */
const WEBP_EFFORT = { avatar: 2, card: 0 } as const;

/** What to make of a picture beside its master. */
export interface PictureWork {
  formats: readonly VariantFormat[];
  /** How long the face check may take (0: no face check; variants are framed by attention). */
  faceCheckTimeoutMs: number;
  /** What the upload said before its metadata was dropped (size as oriented, camera, capture date). */
  upload: UploadFacts;
  /** A frame set by the performer, which replaces the face's (see the re-framing endpoint). */
  focus?: PictureFocus;
  /** Called with each variant as soon as it is encoded. */
  onVariant?: (variant: VariantImage) => void;
}

/**
 * The variants, the placeholder and the analysis (faces, focus, hints), from the master's pixels
 * (no second decode). A 32 px copy of the whole picture serves the placeholder and the attention
 * point, while the face check looks at a 640 px copy (its detector at a 480 px one made from it) in
 * its worker thread; each frame is then cut around the face (or the performer's focus), or around
 * the attention point (edges, skin tones, colour) when there is none. Each shape's largest frame is
 * cut from the master and resized once, except the avatar's when it lies inside the card's (a
 * face, or a portrait picture): it is cut from the card's pixels, which show it more finely. A
 * smaller width showing the same frame (the usual case: only a face small in a large picture
 * frames the widths differently) is resized from those pixels, not from the master again.
 * Mitchell resampling (no ringing at these reductions, and cheaper than Lanczos); WebP at
 * WEBP_EFFORT, AVIF as well when asked for.
 */
export async function describePicture(
  pixels: RawPixels,
  work: PictureWork,
): Promise<{ variants: VariantImage[]; placeholder: string; analysis: PictureAnalysis }> {
  const specs = variantSpecsFor(pixels.width, pixels.height);
  const [tiny, checked] = await Promise.all([tinyCopy(pixels), faceCheck(pixels, work.faceCheckTimeoutMs)]);
  const analysis = checked
    ? analysePicture(checked.found, checked.scale, pixels, work.upload)
    : { faces: null, focus: null, hints: [], capturedAt: work.upload.capturedAt ?? null };
  if (work.focus) analysis.focus = work.focus;
  // Without a face or the performer's frame, every variant centres on the attention point.
  const focus = analysis.focus ?? attentionFocus(tiny, pixels);
  const made = new Map<VariantSpec, VariantImage[]>();
  const encode = async (spec: VariantSpec, image: () => Sharp) => {
    const images = await Promise.all(
      work.formats.map(async (format) => {
        const encoded =
          format === 'webp' ? image().webp({ quality: 75, effort: WEBP_EFFORT[spec.shape] }) : image().avif({ quality: 50, effort: 2 });
        const variant = { ...spec, format, buffer: await encoded.toBuffer() };
        work.onVariant?.(variant);
        return variant;
      }),
    );
    made.set(spec, images);
  };
  const fromMaster = (frame: Frame) => sharp(pixels.data, rawInput(pixels)).extract(frame);
  const plan = (shape: VariantShape) => {
    const [largest, ...smaller] = specs.filter((spec) => spec.shape === shape).sort((a, b) => b.width - a.width);
    return largest && { largest, smaller, frame: frameAround(focus, largest, pixels) };
  };
  const card = plan('card');
  const avatar = plan('avatar');
  const cardCut = card && resized(fromMaster(card.frame), card.largest);
  // On a portrait picture, and around a face, the avatar's frame lies inside the card's, whose
  // pixels are finer: the avatar is cut from them, not from the master again.
  const avatarCut =
    avatar &&
    (card && cardCut && holds(card.frame, card.largest, avatar.frame, avatar.largest)
      ? cardCut.then((cut) => resized(sharp(cut.data, rawInput(cut)).extract(regionOf(avatar.frame, card.frame, cut)), avatar.largest))
      : resized(fromMaster(avatar.frame), avatar.largest));
  // Each shape's largest width from its cut; a smaller width showing the same frame from those pixels too.
  const encodeShape = async (shape: ReturnType<typeof plan>, pending: Promise<RawPixels> | undefined) => {
    if (!shape || !pending) return;
    const cut = await pending;
    const fromCut = () => sharp(cut.data, rawInput(cut));
    await Promise.all([
      encode(shape.largest, fromCut),
      ...shape.smaller.map((spec) => {
        const own = frameAround(focus, spec, pixels);
        const from = sameFrame(own, shape.frame) ? fromCut : () => fromMaster(own);
        return encode(spec, () => from().resize(spec.width, spec.height, RESAMPLE));
      }),
    ]);
  };
  await Promise.all([encodeShape(card, cardCut), encodeShape(avatar, avatarCut)]);
  const variants = specs.flatMap((spec) => made.get(spec) ?? []);
  const placeholder = Buffer.from(rgbaToThumbHash(tiny.width, tiny.height, tiny.data)).toString('base64');
  return { variants, placeholder, analysis };
}

const RESAMPLE = { fit: 'cover', kernel: 'mitchell' } as const;

/** The image resized to the variant's size, as raw pixels. */
async function resized(image: Sharp, spec: VariantSpec): Promise<RawPixels> {
  const { data, info } = await image.resize(spec.width, spec.height, RESAMPLE).raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}

/**
 * Whether the cut of `outer` (at `outerSpec`'s size) holds `inner` at least as finely as
 * `innerSpec` needs it, so `inner`'s variant can be cut from those pixels.
 */
function holds(outer: Frame, outerSpec: VariantSpec, inner: Frame, innerSpec: VariantSpec): boolean {
  const inside =
    inner.left >= outer.left &&
    inner.top >= outer.top &&
    inner.left + inner.width <= outer.left + outer.width &&
    inner.top + inner.height <= outer.top + outer.height;
  return inside && outerSpec.width / outer.width >= innerSpec.width / inner.width;
}

/** Where `inner` (a frame of the master) lies in `cut`, the pixels of `outer` resized. */
function regionOf(inner: Frame, outer: Frame, cut: RawPixels): Frame {
  const scaleX = cut.width / outer.width;
  const scaleY = cut.height / outer.height;
  const left = Math.min(cut.width - 1, Math.round((inner.left - outer.left) * scaleX));
  const top = Math.min(cut.height - 1, Math.round((inner.top - outer.top) * scaleY));
  return {
    left,
    top,
    width: Math.max(1, Math.min(cut.width - left, Math.round(inner.width * scaleX))),
    height: Math.max(1, Math.min(cut.height - top, Math.round(inner.height * scaleY))),
  };
}

/** Whether two frames show the same part of the picture, to within a pixel of the master. */
function sameFrame(a: Frame, b: Frame): boolean {
  return (
    Math.abs(a.left - b.left) <= 1 && Math.abs(a.top - b.top) <= 1 && Math.abs(a.width - b.width) <= 1 && Math.abs(a.height - b.height) <= 1
  );
}

/**
 * The face check on a copy at most FACE_INPUT_EDGE long (RGB, transparency on white): what it
 * found (undefined when it could not run) and the scale from the copy to the master. Null when
 * face checks are off.
 */
async function faceCheck(pixels: RawPixels, timeoutMs: number) {
  if (timeoutMs <= 0) return null;
  const { data, info } = await sharp(pixels.data, rawInput(pixels))
    .resize(FACE_INPUT_EDGE, FACE_INPUT_EDGE, { fit: 'inside', withoutEnlargement: true })
    .flatten({ background: '#ffffff' })
    .toColourspace('srgb')
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { found: await detectFaces({ data, width: info.width, height: info.height }, timeoutMs), scale: pixels.width / info.width };
}

/**
 * The long edge of the tiny copy the placeholder and the attention point are computed from.
 * ThumbHash keeps at most 7 × 7 cosine terms, which 32 px still hold: on the 46 photos in
 * test/fixtures/faces/no-face, previews decoded from a 32 px and a 100 px hash (the library's
 * maximum) differ by 1.8 levels in 255 on average, 11 at worst, as a 64 px hash does (1.9 and 11:
 * what is left is the hash's own 4-bit rounding). libvips' attention strategy looks at 32 × 32.
 * The ThumbHash encoder is plain JavaScript that V8 compiles again for each picture (its inner
 * function is a new closure each call), so it runs mostly unoptimised. Measured over 60 small
 * uploads in the server: at 100 px it allocated 0.94 MB of garbage per upload, 60 % of all the
 * upload allocated; at 32 px, 0.17 MB. Alone, it took 1.8 ms of CPU warm (60–85 ms cold); at
 * 32 px, 0.5 ms (20 ms).
 */
const TINY_EDGE = 32;

/** The picture at most TINY_EDGE long, as sRGB with an alpha channel (ThumbHash's input). */
async function tinyCopy(source: RawPixels): Promise<{ data: Buffer; width: number; height: number }> {
  const { data, info } = await sharp(source.data, rawInput(source))
    .resize(TINY_EDGE, TINY_EDGE, { fit: 'inside', kernel: 'mitchell' })
    .toColourspace('srgb')
    .ensureAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

/**
 * The attention point of the tiny copy, as a point focus in the master's pixels: each variant is
 * then the largest frame of its shape centred on it, as a cover crop positioned by attention would be.
 */
function attentionFocus(tiny: { data: Buffer; width: number; height: number }, pixels: RawPixels): Parameters<typeof frameAround>[0] {
  const point = attentionPoint(tiny.data, tiny.width, tiny.height);
  return { x: point.x * pixels.width, y: point.y * pixels.height, width: 0, height: 0 };
}
