// The limit for interlaced PNGs of 16 bits a channel (MAX_DEEP_INTERLACED_PNG_PIXELS): their decoder
// holds every row of the whole picture, so a flat one of 8320 × 6250 (625 kB) took a process to
// 592 MB. The files are made here with sharp.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { processed } from '../helpers/images.js';

const dir = mkdtempSync(path.join(tmpdir(), 'deep-png-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A flat PNG, `bits` a channel, with transparency, interlaced (Adam7) or not: a few hundred kB at most. */
const flatPng = (width: number, height: number, bits: 8 | 16, interlaced: boolean) => {
  const image = sharp({ create: { width, height, channels: 4, background: { r: 40, g: 90, b: 160, alpha: 0.8 } } });
  return (bits === 16 ? image.toColourspace('rgb16') : image).png({ progressive: interlaced, compressionLevel: 9 }).toBuffer();
};

async function outcome(input: Buffer | string): Promise<string> {
  return processed(input).then(
    (result) => `taken: ${result.width}×${result.height} ${result.format}`,
    (error: unknown) => (error as { detail?: string }).detail ?? String(error),
  );
}

describe('an interlaced PNG of 16 bits a channel', () => {
  it('over 4096 × 4096 is refused from its header, from memory or disk, and says how to save it', async () => {
    const bomb = await flatPng(8320, 6250, 16, true);
    expect(bomb.length).toBeLessThan(1_000_000);
    const file = path.join(dir, 'bomb.png');
    writeFileSync(file, bomb);
    const refusal =
      'Image is an interlaced PNG of 16 bits a channel and 8320×6250 pixels; the limit for such a PNG is 16.8 megapixels. Save it without interlacing, or at 8 bits.';
    for (const input of [bomb, file]) expect(await outcome(input)).toBe(refusal);
    expect(await outcome(await flatPng(4097, 4096, 16, true))).toBe(
      'Image is an interlaced PNG of 16 bits a channel and 4097×4096 pixels; the limit for such a PNG is 16.8 megapixels. Save it without interlacing, or at 8 bits.',
    );
  });

  it('under it is taken, and so is the same large picture not interlaced, or at 8 bits', async () => {
    expect(await outcome(await flatPng(1600, 1200, 16, true))).toBe('taken: 1600×1200 png');
    expect(await outcome(await flatPng(4200, 4200, 16, false))).toBe('taken: 2048×2048 png');
    expect(await outcome(await flatPng(4200, 4200, 8, true))).toBe('taken: 2048×2048 png');
  }, 60_000);
});
