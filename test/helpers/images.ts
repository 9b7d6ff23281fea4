import { statSync } from 'node:fs';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import sharp, { type Sharp } from 'sharp';
import type { ImageLimits } from '../../src/images/checks.js';
import { sanitiseImage, type ImageOutputs, type SanitisedImage } from '../../src/images/sanitise.js';
import { ImageWork } from '../../src/images/work.js';

/** Image fixtures generated in the test run, and hand-made bad files. */

export async function jpegWithExif(options: { width?: number; height?: number; orientation?: number } = {}): Promise<Buffer> {
  const { width = 1200, height = 800, orientation = 6 } = options;
  return sharp({ create: { width, height, channels: 3, background: '#4a7f3b' } })
    .jpeg({ quality: 90 })
    .withMetadata({ orientation })
    .withExif({
      IFD0: { Make: 'CastfolioCam', Model: 'SerialTest-XZ9', ImageDescription: 'secret-location-photo' },
      IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '48/1 51/1 2998/100', GPSLongitudeRef: 'E', GPSLongitude: '2/1 17/1 4016/100' },
    })
    .toBuffer();
}

export function jpeg(width = 640, height = 480, background = '#336699'): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background } })
    .jpeg()
    .toBuffer();
}

/** Random pixels compress badly: a photo-sized file from few pixels (about 1.5 bytes per pixel). */
export function noisyJpeg(width: number, height: number): Promise<Buffer> {
  const pixels = Buffer.alloc(width * height * 3);
  for (let i = 0; i < pixels.length; i++) pixels[i] = (Math.random() * 256) | 0;
  return sharp(pixels, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 92 })
    .toBuffer();
}

export function pngWithAlpha(width = 300, height = 200): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 4, background: { r: 200, g: 30, b: 30, alpha: 0.5 } } })
    .png()
    .toBuffer();
}

export function webp(width = 300, height = 300): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 4, background: { r: 0, g: 0, b: 255, alpha: 0.8 } } })
    .webp()
    .toBuffer();
}

export function avif(width = 120, height = 80): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: '#aa5500' } })
    .avif()
    .toBuffer();
}

export async function animatedGif(frames = 3, size = 32): Promise<Buffer> {
  const colours = ['#ff0000', '#00ff00', '#0000ff'];
  const images = await Promise.all(
    colours.map((c) =>
      sharp({ create: { width: size, height: size, channels: 4, background: c } })
        .png()
        .toBuffer(),
    ),
  );
  return sharp(
    Array.from({ length: frames }, (_, i) => images[i % images.length] as Buffer),
    { join: { animated: true } },
  )
    .gif()
    .toBuffer();
}

/** A valid PNG whose header (with a correct CRC) claims width × height pixels. */
export async function pngClaiming(width: number, height: number): Promise<Buffer> {
  const png = Buffer.from(
    await sharp({ create: { width: 8, height: 8, channels: 3, background: '#fff' } })
      .png()
      .toBuffer(),
  );
  png.writeUInt32BE(width, 16);
  png.writeUInt32BE(height, 20);
  png.writeUInt32BE(crc32(png.subarray(12, 29)), 29);
  return png;
}

export const HTML_PAYLOAD = '<html><body><script>alert(document.cookie)</script></body></html>';

/** A JPEG that is also an HTML page: the markup rides in EXIF and after the end-of-image marker. */
export async function jpegHtmlPolyglot(): Promise<Buffer> {
  const image = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#123456' } })
    .jpeg()
    .withExif({ IFD0: { ImageDescription: HTML_PAYLOAD } })
    .toBuffer();
  return Buffer.concat([image, Buffer.from(HTML_PAYLOAD)]);
}

export const BAD_FILES: Record<string, () => Promise<Buffer> | Buffer> = {
  'plain text': () => Buffer.from('just some text, not an image\n'),
  'SVG with a script': () => Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(1)</script></svg>'),
  'HTML renamed .jpg': () => Buffer.from(HTML_PAYLOAD),
  'PDF renamed .jpg': () => Buffer.from('%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF'),
  'ZIP renamed .jpg': () => Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x14, 0x00, 0x00, 0x00, 0x08, 0x00, ...Array(40).fill(0)]),
  'zero-byte file': () => Buffer.alloc(0),
  'truncated JPEG': async () => {
    const full = await jpeg(800, 600, '#884422');
    return full.subarray(0, Math.floor(full.length / 2));
  },
  'JPEG header followed by garbage': () => Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(2000, 0x41)]),
};

/** A responsive variant's stored name (…_<set>-avatar-192.webp), as opposed to a master's. */
export const isVariantName = (name: string): boolean => /_[A-Za-z0-9_-]{22}-(avatar|card)-\d+\.(webp|avif)$/.test(name);

/**
 * A photo-like picture as raw pixels: smooth light, a textured subject and sensor noise (not pure
 * noise, which no camera makes); grey with one channel, fading to half transparent with four.
 * `random` makes the noise: a seeded one gives the same picture every run.
 */
export function cameraLike(
  width: number,
  height: number,
  { channels = 3, random = Math.random }: { channels?: 1 | 3 | 4; random?: () => number } = {},
): Sharp {
  const pixels = Buffer.alloc(width * height * channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * channels;
      const texture = 40 * Math.sin(x / 23) * Math.cos(y / 31);
      const noise = (random() - 0.5) * 24;
      pixels[i] = Math.max(0, Math.min(255, (x * 180) / width + 40 + texture + noise));
      if (channels === 1) continue;
      pixels[i + 1] = Math.max(0, Math.min(255, (y * 160) / height + 50 + texture / 2 + noise));
      pixels[i + 2] = Math.max(0, Math.min(255, 120 + texture + noise));
      if (channels === 4) pixels[i + 3] = 255 - (y * 128) / height;
    }
  }
  return sharp(pixels, { raw: { width, height, channels } });
}

export function cameraLikeJpeg(width: number, height: number): Promise<Buffer> {
  return cameraLike(width, height).jpeg({ quality: 90 }).toBuffer();
}

/** The one-face fixture: a public-domain NASA portrait (test/fixtures/faces/SOURCES.md). */
export const ASTRONAUT = path.join(import.meta.dirname, '..', 'fixtures', 'faces', 'one-face', 'skimage-astronaut.jpg');

/**
 * A headshot placed on a plain canvas: the NASA portrait at `size` px with its top-left corner at
 * `left`, `top` of a `width` × `height` canvas, as a JPEG (EXIF fields when given).
 */
export async function portraitOnCanvas(options: {
  width: number;
  height: number;
  size: number;
  left: number;
  top: number;
  background?: string;
  exif?: Record<string, Record<string, string>>;
}): Promise<Buffer> {
  const portrait = await sharp(ASTRONAUT).resize(options.size, options.size).toBuffer();
  let canvas = sharp({
    create: { width: options.width, height: options.height, channels: 3, background: options.background ?? '#b9c2cc' },
  }).composite([{ input: portrait, left: options.left, top: options.top }]);
  if (options.exif) canvas = canvas.withExif(options.exif);
  return canvas.jpeg({ quality: 90 }).toBuffer();
}

/** Four flat patches of colour, quarters of a 600 × 800 picture, where profiles differ most. */
export const PATCHES = { red: [200, 60, 60], green: [60, 170, 80], blue: [50, 80, 200], skin: [224, 172, 140] } as const;

export async function colourPatches(): Promise<Buffer> {
  const patch = (rgb: readonly number[]) => ({
    create: { width: 300, height: 400, channels: 3 as const, background: { r: rgb[0]!, g: rgb[1]!, b: rgb[2]! } },
  });
  return sharp(patch(PATCHES.red))
    .extend({ right: 300, bottom: 400, background: '#000' })
    .composite([
      { input: patch(PATCHES.green), left: 300, top: 0 },
      { input: patch(PATCHES.blue), left: 0, top: 400 },
      { input: patch(PATCHES.skin), left: 300, top: 400 },
    ])
    .removeAlpha()
    .png()
    .toBuffer();
}

/** The mean colour at the middle of each quarter of a stored picture (master or variant, any size). */
export async function patchColours(bytes: Buffer): Promise<Record<string, number[]>> {
  const { data, info } = await sharp(bytes).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const mean = (fx: number, fy: number) => {
    const sums = [0, 0, 0];
    let count = 0;
    for (let y = Math.round(info.height * (fy - 0.05)); y < info.height * (fy + 0.05); y++) {
      for (let x = Math.round(info.width * (fx - 0.05)); x < info.width * (fx + 0.05); x++) {
        for (let c = 0; c < 3; c++) sums[c]! += data[(y * info.width + x) * 3 + c]!;
        count++;
      }
    }
    return sums.map((sum) => Math.round(sum / count));
  };
  return { red: mean(0.25, 0.25), green: mean(0.75, 0.25), blue: mean(0.25, 0.75), skin: mean(0.75, 0.75) };
}

/**
 * How far a stored picture's patches are from `reference` (the drawn colours, or another picture's
 * patches): the largest difference in any channel, and which patch and channel it is in.
 */
export async function patchDistance(
  bytes: Buffer,
  reference: Readonly<Record<string, readonly number[]>> = PATCHES,
): Promise<{ worst: number; at: string }> {
  const seen = await patchColours(bytes);
  let worst = { worst: 0, at: 'nowhere' };
  for (const [name, expected] of Object.entries(reference)) {
    for (const [channel, value] of expected.entries()) {
      const distance = Math.abs(seen[name]![channel]! - value);
      if (distance > worst.worst) worst = { worst: distance, at: `${name}, channel ${channel}` };
    }
  }
  return worst;
}

/**
 * The drawn patches as Display P3 numbers: tagged with the profile, as iPhones and cameras tag
 * theirs, or untagged, as a HEIF file holds them when its `nclx` box declares the colours.
 */
export async function displayP3Patches(tagged: boolean): Promise<Buffer> {
  return sharp(await colourPatches())
    .withIccProfile('p3', { attach: tagged })
    .png()
    .toBuffer();
}

/** The image limits a server has on its defaults (config.ts: MAX_IMAGE_PIXELS, MAX_IMAGE_DIMENSION…). */
export const DEFAULT_LIMITS: ImageLimits = {
  maxPixels: 52_000_000,
  maxAvifPixels: 4096 * 4096,
  maxDimension: 2048,
  maxFrames: 1000,
  heifTimeoutMs: 30_000,
};
const gates = new ImageWork({ concurrency: 2, queueLimit: 0, maxDimension: DEFAULT_LIMITS.maxDimension });

/**
 * An upload (its bytes, or the file they were streamed to) through the whole picture pipeline on the
 * server's defaults, WebP variants included.
 */
export function processed(input: Buffer | string, outputs: Partial<ImageOutputs> = {}): Promise<SanitisedImage> {
  const bytes = Buffer.isBuffer(input) ? input.length : statSync(input).size;
  return sanitiseImage(input, bytes, DEFAULT_LIMITS, gates, { variantFormats: ['webp'], ...outputs });
}
