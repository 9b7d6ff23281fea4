import sharp from 'sharp';
import { rgbaToThumbHash } from 'thumbhash';

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

/** WebP effort by frame: 1 for the small avatars (smaller files there than effort 2, and faster), 2 above. */
const webpEffort = (spec: VariantSpec) => (spec.width < 320 ? 1 : 2);

/**
 * The variants and the placeholder, from the master's pixels (no second decode). The pixels are
 * first reduced once to the smallest size every frame can still be cut from without enlargement;
 * each frame is then cropped around the centre from that copy, and the placeholder made from it.
 * Mitchell resampling (no ringing at these reductions, and cheaper than Lanczos); WebP at effort
 * 1–2 (within 5 % of the size effort 4 makes, in a quarter of its time), AVIF as well when asked for.
 */
export async function encodeVariants(
  pixels: RawPixels,
  formats: readonly VariantFormat[],
): Promise<{ variants: VariantImage[]; placeholder: string }> {
  const specs = variantSpecsFor(pixels.width, pixels.height);
  const source = await reducedFor(pixels, specs);
  const [variants, placeholder] = await Promise.all([
    Promise.all(
      specs.flatMap((spec) =>
        formats.map(async (format) => {
          const resized = sharp(source.data, rawInput(source)).resize(spec.width, spec.height, {
            fit: 'cover',
            position: 'centre',
            kernel: 'mitchell',
          });
          const encoded =
            format === 'webp' ? resized.webp({ quality: 75, effort: webpEffort(spec) }) : resized.avif({ quality: 50, effort: 2 });
          return { ...spec, format, buffer: await encoded.toBuffer() };
        }),
      ),
    ),
    placeholderOf(source),
  ]);
  return { variants, placeholder };
}

/**
 * The pixels reduced to the scale of the most demanding frame (a cover crop scales by the larger of
 * its two ratios), or as they are when that saves little: every frame is then resampled from a
 * quarter of the pixels or fewer instead of from the full master.
 */
async function reducedFor(pixels: RawPixels, specs: readonly VariantSpec[]): Promise<RawPixels> {
  const scale = Math.max(
    ...specs.map((spec) => Math.max(spec.width / pixels.width, spec.height / pixels.height)),
    100 / Math.max(pixels.width, pixels.height),
  );
  if (scale > 0.75) return pixels;
  const { data, info } = await sharp(pixels.data, rawInput(pixels))
    .resize(Math.ceil(pixels.width * scale), Math.ceil(pixels.height * scale), { fit: 'fill', kernel: 'mitchell' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}

/** A ThumbHash of the picture (base64, about 25 bytes): the blurred preview a client paints first. */
async function placeholderOf(pixels: RawPixels): Promise<string> {
  const { data, info } = await sharp(pixels.data, rawInput(pixels))
    .resize(100, 100, { fit: 'inside' })
    .toColourspace('srgb')
    .ensureAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return Buffer.from(rgbaToThumbHash(info.width, info.height, data)).toString('base64');
}
