import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { rgbaToThumbHash, thumbHashToRGBA } from 'thumbhash';
import { describe, expect, it } from 'vitest';
import { processed } from '../helpers/images.js';

// The labelled photos (sources and licences: test/fixtures/faces/SOURCES.md).
const PHOTOS = path.join(import.meta.dirname, '..', 'fixtures', 'faces', 'no-face');

async function placeholderOf(bytes: Buffer): Promise<string> {
  const image = await processed(bytes);
  return image.placeholder!;
}

/** A decoded placeholder resampled to 32 × 32 RGBA, to compare two previews pixel by pixel. */
async function preview(hash: Uint8Array): Promise<Buffer> {
  const { w, h, rgba } = thumbHashToRGBA(hash);
  return sharp(Buffer.from(rgba), { raw: { width: w, height: h, channels: 4 } })
    .resize(32, 32, { fit: 'fill' })
    .raw()
    .toBuffer();
}

/** Mean of a channel over the columns [from, to) of a decoded preview. */
function columnMean(decoded: { w: number; h: number; rgba: Uint8Array }, channel: number, from: number, to: number): number {
  let sum = 0;
  let count = 0;
  for (let y = 0; y < decoded.h; y++) {
    for (let x = Math.floor(from * decoded.w); x < Math.ceil(to * decoded.w); x++) {
      sum += decoded.rgba[(y * decoded.w + x) * 4 + channel]!;
      count++;
    }
  }
  return sum / count;
}

describe('placeholder', () => {
  it("paints the picture's layout and proportions: a portrait red on the left and blue on the right", async () => {
    const halves = Buffer.from(
      '<svg xmlns="http://www.w3.org/2000/svg" width="800" height="1000"><rect width="400" height="1000" fill="#d02020"/><rect x="400" width="400" height="1000" fill="#2040d0"/></svg>',
    );
    const bytes = await sharp(halves).jpeg().toBuffer();
    const decoded = thumbHashToRGBA(Buffer.from(await placeholderOf(bytes), 'base64'));
    expect(decoded.h).toBeGreaterThan(decoded.w);
    expect(decoded.w / decoded.h).toBeCloseTo(0.8, 1);
    const [red, blue] = [0, 2];
    expect(columnMean(decoded, red, 0, 0.3)).toBeGreaterThan(columnMean(decoded, blue, 0, 0.3) + 60);
    expect(columnMean(decoded, blue, 0.7, 1)).toBeGreaterThan(columnMean(decoded, red, 0.7, 1) + 60);
  });

  it("keeps a transparent picture's transparency in the preview", async () => {
    const disc = Buffer.from(
      '<svg xmlns="http://www.w3.org/2000/svg" width="600" height="600"><circle cx="300" cy="300" r="150" fill="#20a040"/></svg>',
    );
    const decoded = thumbHashToRGBA(Buffer.from(await placeholderOf(await sharp(disc).png().toBuffer()), 'base64'));
    const alphaAt = (x: number, y: number) => decoded.rgba[(Math.floor(y * decoded.h) * decoded.w + Math.floor(x * decoded.w)) * 4 + 3]!;
    expect(alphaAt(0.5, 0.5)).toBeGreaterThan(200);
    expect(alphaAt(0.02, 0.02)).toBeLessThan(60);
  });

  // A 64 px hash differs from the 100 px one as much as this one does (the hash rounds each term to
  // 4 bits), so the per-photo bound is loose; the average is what a smaller input would move.
  it("previews photos as a hash of the library's largest input (100 px) would, within 3 levels in 255 on average", async () => {
    const files = readdirSync(PHOTOS).filter((name) => name.endsWith('.jpg'));
    expect(files.length).toBeGreaterThan(30);
    let total = 0;
    for (const name of files) {
      const bytes = readFileSync(path.join(PHOTOS, name));
      const image = await processed(bytes);
      const ours = await preview(Buffer.from(image.placeholder!, 'base64'));
      const { data, info } = await sharp(image.buffer)
        .resize(100, 100, { fit: 'inside' })
        .toColourspace('srgb')
        .ensureAlpha()
        .raw()
        .toBuffer({ resolveWithObject: true });
      const reference = await preview(rgbaToThumbHash(info.width, info.height, data));
      let difference = 0;
      for (let i = 0; i < reference.length; i++) difference += Math.abs(reference[i]! - ours[i]!);
      const mean = difference / reference.length;
      expect(mean, name).toBeLessThan(16);
      total += mean;
    }
    expect(total / files.length).toBeLessThan(3);
  });
});
