import * as zlib from 'node:zlib';
import sharp, { type Sharp } from 'sharp';
import type { HeifColours } from './heif-colours.js';

/**
 * Pixels decoded outside libvips (a HEIC, by libheif in its thread) are numbers in the colours of
 * their container's ICC profile: an iPhone's is Display P3, whose numbers read as sRGB look dull
 * (a red of 200 shows as 184). sharp takes an input profile only from an image file, so the pixels
 * go through an uncompressed PNG carrying the profile, and sharp converts them to sRGB as it does
 * every tagged upload: with littleCMS, perceptual intent, a profile it cannot use left unapplied.
 * It runs on the master-sized pixels, after the resize: on a 2048 × 1536 master, 17 ms to write the
 * PNG, 13 ms to copy it with the chunk, 35 ms of littleCMS beside the PNG's own 19 ms decode.
 */
export async function inSrgb(image: Sharp, icc: Buffer): Promise<Sharp> {
  // zlib.crc32 arrived in Node 20.15; an earlier Node keeps the colours as decoded.
  if (typeof zlib.crc32 !== 'function') return image;
  const png = await image.png({ compressionLevel: 0, adaptiveFiltering: false }).toBuffer();
  // The PNG is ours, of pixels already checked: nothing in it is a reason to refuse the upload.
  return sharp(withProfile(png, icc), { failOn: 'none', limitInputPixels: false });
}

/** The PNG with `icc` as its iCCP chunk, right after IHDR (which PNG puts first, 13 bytes long). */
export function withProfile(png: Buffer, icc: Buffer): Buffer {
  const afterHeader = 8 + 12 + 13;
  if (png.toString('latin1', 12, 16) !== 'IHDR' || png.readUInt32BE(8) !== 13) throw new Error('not a PNG whose IHDR comes first');
  // A name (1–79 Latin-1 characters), a null, compression method 0, then the zlib-compressed profile.
  const data = Buffer.concat([Buffer.from('ICC profile\0\0', 'latin1'), zlib.deflateSync(icc)]);
  const chunk = Buffer.alloc(12 + data.length);
  chunk.writeUInt32BE(data.length, 0);
  chunk.write('iCCP', 4, 'latin1');
  data.copy(chunk, 8);
  chunk.writeUInt32BE(zlib.crc32(chunk.subarray(4, 8 + data.length)), 8 + data.length);
  return Buffer.concat([png.subarray(0, afterHeader), chunk, png.subarray(afterHeader)]);
}

/** ITU-T H.273 colour primaries 12: P3 with a D65 white point, Display P3's. */
const P3_D65 = 12;
/** H.273 transfer characteristics of SDR pictures: BT.709, unspecified, BT.601, sRGB, BT.2020 10 and 12 bit. */
const SDR_TRANSFERS = new Set([1, 2, 6, 13, 14, 15]);

let displayP3: Promise<Buffer | undefined> | undefined;

/**
 * The ICC profile for the colours an HEIF file's `nclx` box declares, when they are not sRGB's and
 * one is at hand: Display P3 (P3 primaries, an SDR transfer), libvips' own profile, as Android
 * phones declare their wide-gamut AVIF and HEIC photos. Undefined otherwise (BT.709 primaries are
 * sRGB's; BT.2020 and HDR transfers are left as decoded).
 */
export function profileDeclaredBy(colours: HeifColours): Promise<Buffer | undefined> {
  if (colours.primaries !== P3_D65 || !SDR_TRANSFERS.has(colours.transfer)) return Promise.resolve(undefined);
  displayP3 ??= sharp({ create: { width: 1, height: 1, channels: 3, background: '#000' } })
    .withIccProfile('p3')
    .png()
    .toBuffer()
    .then(async (png) => (await sharp(png).metadata()).icc);
  return displayP3;
}
