// Every stored picture is sRGB without a profile: an upload tagged with another profile must look
// as it did on the performer's screen, whichever decoder read it.
import sharp, { type Sharp } from 'sharp';
import { describe, expect, it } from 'vitest';
import { DISPLAY_P3_NCLX, heicFrom, heifEncAvailable, withNclx, type Nclx } from '../helpers/heif.js';
import { colourPatches, displayP3Patches, patchColours, patchDistance, processed } from '../helpers/images.js';

const hasHeifEnc = await heifEncAvailable();

/** How far, at most, the master's and every variant's patches are from the drawn sRGB colours. */
async function worstDistance(bytes: Buffer): Promise<number> {
  const image = await processed(bytes);
  let worst = 0;
  for (const stored of [image.buffer, ...image.variants.map((variant) => variant.buffer)]) {
    worst = Math.max(worst, (await patchDistance(stored)).worst);
  }
  return worst;
}

describe('colours of a tagged upload', () => {
  it('are converted to sRGB from an 8-bit JPEG, PNG, WebP or AVIF profile', async () => {
    const p3 = await displayP3Patches(true);
    // The numbers alone, read as sRGB, are far from what was drawn: the profile matters here.
    expect(await worstDistance(await displayP3Patches(false))).toBeGreaterThan(12);
    for (const encode of [
      (image: Sharp) => image.jpeg({ quality: 95 }),
      (image: Sharp) => image.png(),
      (image: Sharp) => image.webp({ quality: 95 }),
      (image: Sharp) => image.avif({ quality: 90 }),
    ]) {
      expect(await worstDistance(await encode(sharp(p3).keepIccProfile()).toBuffer())).toBeLessThanOrEqual(5);
    }
  });

  it('are converted to sRGB from a 16-bit PNG’s profile (sharp keeps 16-bit pictures in Display P3)', async () => {
    const p3 = await sharp(await colourPatches())
      .toColourspace('rgb16')
      .withIccProfile('p3')
      .png()
      .toBuffer();
    expect((await sharp(p3).metadata()).depth).toBe('ushort');
    expect(await worstDistance(p3)).toBeLessThanOrEqual(5);
    // Without a profile a 16-bit PNG is sRGB, and stays as it is.
    const untagged = await sharp(await colourPatches())
      .toColourspace('rgb16')
      .png()
      .toBuffer();
    expect(await worstDistance(untagged)).toBeLessThanOrEqual(5);
  });

  it.skipIf(!hasHeifEnc)('are converted to sRGB from a HEIC’s profile, which libheif leaves to its caller', async () => {
    const heic = await heicFrom(await displayP3Patches(true), 'png', 90);
    expect((await sharp(heic).metadata()).icc).toBeDefined();
    expect(await worstDistance(heic)).toBeLessThanOrEqual(5);
  });

  const avifDeclaring = async (png: Buffer, nclx: Nclx) =>
    withNclx(await sharp(png).avif({ quality: 90, chromaSubsampling: '4:4:4' }).toBuffer(), nclx);

  it('are converted to sRGB from an AVIF declaring Display P3 in an nclx box (no ICC profile), as Android phones write them', async () => {
    const avif = await avifDeclaring(await displayP3Patches(false), DISPLAY_P3_NCLX);
    expect((await sharp(avif).metadata()).icc).toBeUndefined();
    expect(await worstDistance(avif)).toBeLessThanOrEqual(5);
  });

  it.skipIf(!hasHeifEnc)('are converted to sRGB from a HEIC declaring Display P3 in an nclx box', async () => {
    const heic = withNclx(await heicFrom(await displayP3Patches(false), 'png', 90), DISPLAY_P3_NCLX);
    expect(await worstDistance(heic)).toBeLessThanOrEqual(5);
  });

  it.skipIf(!hasHeifEnc)('are converted to sRGB from a grid HEIC whose tile declares Display P3 and the grid nothing', async () => {
    // An odd width and height: heif-enc writes a grid of one tile, cropped.
    const odd = await sharp(await displayP3Patches(false))
      .extend({ right: 1, bottom: 1, extendWith: 'copy' })
      .png()
      .toBuffer();
    const heic = await heicFrom(odd, 'png', 90);
    expect(heic.includes('grid')).toBe(true);
    expect(await worstDistance(withNclx(heic, DISPLAY_P3_NCLX, { onTile: true }))).toBeLessThanOrEqual(5);
  });

  it('stay as decoded where an nclx box declares sRGB’s primaries, or an HDR transfer', async () => {
    expect(await worstDistance(await avifDeclaring(await colourPatches(), { primaries: 1, transfer: 13, matrix: 6 }))).toBeLessThanOrEqual(
      5,
    );
    // PQ (HDR10) is not tone-mapped: its numbers are taken as they are, as before this box was read.
    const pq = await processed(await avifDeclaring(await displayP3Patches(false), { ...DISPLAY_P3_NCLX, transfer: 16 }));
    const asNumbers = await patchColours(await displayP3Patches(false));
    const { worst, at } = await patchDistance(pq.buffer, asNumbers);
    expect(worst, at).toBeLessThanOrEqual(5);
  });

  it.skipIf(!hasHeifEnc)('of a HEIC whose profile cannot be used stay as decoded, and the picture is still made', async () => {
    const heic = await heicFrom(await displayP3Patches(true), 'png', 90);
    const profileAt = heic.indexOf(Buffer.from('colrprof')) + 8;
    expect(profileAt).toBeGreaterThan(8);
    const size = heic.readUInt32BE(profileAt - 12) - 12;
    const asDecoded = await patchColours((await processed(await displayP3Patches(false))).buffer);
    for (const spoil of [
      (bytes: Buffer) => bytes.fill(0xff, profileAt + 128, profileAt + size), // its tag table
      (bytes: Buffer) => bytes.fill(0, profileAt, profileAt + 128), // its header
      (bytes: Buffer) => bytes.write('CMYK', profileAt + 16, 'latin1'), // a CMYK profile for RGB pixels
    ]) {
      const spoilt = Buffer.from(heic);
      spoil(spoilt);
      expect((await sharp(spoilt).metadata()).icc).toBeDefined();
      const image = await processed(spoilt);
      expect(image.variants).toHaveLength(4); // all but the 640 × 800 card, larger than the picture
      const { worst, at } = await patchDistance(image.buffer, asDecoded);
      expect(worst, at).toBeLessThanOrEqual(5);
    }
  });
});
