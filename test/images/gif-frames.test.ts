// A GIF's frames counted from its blocks (src/images/gif-frames.ts) before libvips reads it: the
// count libvips gives, from memory and from disk, and an animation over MAX_IMAGE_FRAMES refused
// with it.
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { gifFrames } from '../../src/images/gif-frames.js';
import { InvalidImageError } from '../../src/images/checks.js';
import { latin1 } from '../helpers/bytes.js';
import { animatedGif, cameraLike, DEFAULT_LIMITS, processed } from '../helpers/images.js';
import { sameFromDisk } from '../helpers/tempdir.js';

/** The frames counted from `bytes` in memory and from a file on disk, which must agree. */
const counted = (bytes: Buffer) => sameFromDisk(bytes, gifFrames);

/**
 * A 1 × 1 GIF built block by block: a global colour table of two, a looping application extension
 * and a comment, then `frames` frames, each a graphic control extension and a one-pixel image
 * (the second and later with a local colour table of four).
 */
function handMadeGif(frames: number): Buffer {
  const screen = Buffer.from([1, 0, 1, 0, 0x80, 0, 0, 0, 0, 0, 255, 255, 255]);
  const loop = Buffer.concat([Buffer.from([0x21, 0xff, 11]), latin1('NETSCAPE2.0'), Buffer.from([3, 1, 0, 0, 0])]);
  const comment = Buffer.concat([Buffer.from([0x21, 0xfe, 5]), latin1('hello'), Buffer.from([0])]);
  const control = Buffer.from([0x21, 0xf9, 4, 0, 10, 0, 0, 0]);
  const image = (local: boolean) =>
    Buffer.concat([
      Buffer.from([0x2c, 0, 0, 0, 0, 1, 0, 1, 0, local ? 0x81 : 0]),
      local ? Buffer.alloc(12, 0x80) : Buffer.alloc(0),
      Buffer.from([2, 2, 0x4c, 0x01, 0]),
    ]);
  const body = Array.from({ length: frames }, (_, i) => Buffer.concat([control, image(i > 0)]));
  return Buffer.concat([latin1('GIF89a'), screen, loop, comment, ...body, Buffer.from([0x3b])]);
}

const pagesOf = async (bytes: Buffer) => (await sharp(bytes).metadata()).pages ?? 1;

describe('a GIF’s frames, counted from its blocks', () => {
  it('are the frames libvips counts, for GIFs sharp writes and GIFs built block by block, from memory and disk', async () => {
    const still = await cameraLike(200, 150).gif().toBuffer();
    // Ten frames of 256 × 256 noise: over 256 kB, read from disk in more than one window.
    const frames = await Promise.all(Array.from({ length: 10 }, () => cameraLike(256, 256).png().toBuffer()));
    const large = await sharp(frames, { join: { animated: true } })
      .gif()
      .toBuffer();
    expect(large.length).toBeGreaterThan(256 * 1024);
    for (const gif of [still, await animatedGif(3), large, handMadeGif(1), handMadeGif(7)]) {
      expect(await counted(gif)).toBe(await pagesOf(gif));
    }
    expect(await counted(large)).toBe(10);
  });

  it('count as far as a damaged file goes: cut short, or a block that cannot be there', async () => {
    const gif = handMadeGif(5);
    expect(await counted(gif.subarray(0, gif.length - 30))).toBe(4);
    // Cut inside the last frame's image descriptor.
    expect(await counted(gif.subarray(0, gif.lastIndexOf(0x2c) + 5))).toBe(4);
    const garbled = Buffer.from(gif);
    // The third frame's control extension becomes an unknown introducer.
    garbled[garbled.indexOf(Buffer.from([0x21, 0xf9]), garbled.indexOf(Buffer.from([0x2c])) + 30)] = 0x99;
    expect(await counted(garbled)).toBeLessThan(5);
    expect(await counted(Buffer.alloc(0))).toBe(0);
  });

  it('over MAX_IMAGE_FRAMES are refused by their number, whatever the file’s size; at the limit decode', async () => {
    const limit = DEFAULT_LIMITS.maxFrames;
    const atLimit = await processed(handMadeGif(limit));
    expect([atLimit.width, atLimit.input.frames]).toEqual([1, limit]);
    for (const count of [limit + 1, 450_000]) {
      const error = await processed(handMadeGif(count)).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(InvalidImageError);
      expect((error as InvalidImageError).detail).toBe(`Image has ${count} frames; the limit is ${limit}.`);
    }
  });
});
