// Embedded ICC profiles littleCMS cannot use at a bounded cost (src/images/icc.ts): a float pipeline
// of any number of stages. Such a profile is not used; the picture's colours are taken as decoded.
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { withProfile } from '../../src/images/colour.js';
import { iccIsBounded } from '../../src/images/icc.js';
import { heicFrom, heifEncAvailable } from '../helpers/heif.js';
import { iccWithPipeline, jpegWithIcc } from '../helpers/icc.js';
import { colourPatches, patchColours, patchDistance, processed } from '../helpers/images.js';

/** libvips' own profiles, as sharp embeds them: what cameras, phones and editors write. */
async function builtInProfile(name: 'srgb' | 'p3' | 'cmyk'): Promise<Buffer> {
  const image = sharp({ create: { width: 8, height: 8, channels: 3, background: '#808080' } }).withIccProfile(name);
  const { icc } = await sharp(await (name === 'cmyk' ? image.jpeg() : image.png()).toBuffer()).metadata();
  if (!icc) throw new Error(`no ${name} profile`);
  return icc;
}

describe('which embedded profiles are used', () => {
  it('uses sRGB, Display P3 and CMYK profiles of fixed shape', async () => {
    for (const name of ['srgb', 'p3', 'cmyk'] as const) expect(iccIsBounded(await builtInProfile(name)), name).toBe(true);
  });

  it('does not use a profile with a float pipeline, of a few stages or of thousands, nor one with a damaged tag table', async () => {
    expect(iccIsBounded(iccWithPipeline(2))).toBe(false);
    expect(iccIsBounded(iccWithPipeline(20_000))).toBe(false);
    const srgb = await builtInProfile('srgb');
    const pastItsEnd = Buffer.from(srgb);
    pastItsEnd.writeUInt32BE(srgb.length + 100, 132 + 4);
    expect(iccIsBounded(pastItsEnd)).toBe(false);
    expect(iccIsBounded(srgb.subarray(0, 100))).toBe(false);
  });
});

describe('a picture whose embedded profile has a float pipeline', () => {
  it('keeps its colours as decoded, as without the profile, however many stages it has', async () => {
    const plain = await sharp(await colourPatches())
      .jpeg({ quality: 95 })
      .toBuffer();
    const expected = await patchColours((await processed(plain)).buffer);
    // Applied, each pipeline's matrices would swap red and blue, its curves darken every colour.
    for (const stages of [3, 2000]) {
      const tagged = jpegWithIcc(plain, iccWithPipeline(stages));
      expect((await sharp(tagged).metadata()).icc?.length, 'the profile is in the file').toBeGreaterThan(0);
      const { worst, at } = await patchDistance((await processed(tagged)).buffer, expected);
      expect(worst, `${stages} stages: ${at}`).toBeLessThanOrEqual(2);
    }
  });
});

describe('a PNG whose iCCP profile has a float pipeline', () => {
  it('keeps its colours as decoded, as without the profile', async () => {
    const plain = await colourPatches();
    const expected = await patchColours((await processed(plain)).buffer);
    const tagged = withProfile(plain, iccWithPipeline(2000));
    expect((await sharp(tagged).metadata()).icc?.length).toBeGreaterThan(0);
    const { worst, at } = await patchDistance((await processed(tagged)).buffer, expected);
    expect(worst, at).toBeLessThanOrEqual(2);
  });
});

describe.skipIf(!(await heifEncAvailable()))('a HEIC whose container profile has a float pipeline', () => {
  it('keeps its colours as decoded, as the same HEIC without a profile', async () => {
    const plain = await sharp(await colourPatches())
      .jpeg({ quality: 95 })
      .toBuffer();
    const expected = await patchColours((await processed(await heicFrom(plain, 'jpg'))).buffer);
    const tagged = await heicFrom(jpegWithIcc(plain, iccWithPipeline(2000)), 'jpg');
    expect((await sharp(tagged).metadata()).icc?.length, 'heif-enc carried the profile into the container').toBeGreaterThan(0);
    const { worst, at } = await patchDistance((await processed(tagged)).buffer, expected);
    expect(worst, at).toBeLessThanOrEqual(2);
  });
});
