// The chunked walk over an ISO BMFF file's boxes (src/isobmff/file.ts) that the HEIF header read
// and the MP4 box read share: the same boxes from a file on disk as from its bytes in memory,
// wherever the 256 kB reads fall, 64-bit sizes, a box of size 0, one cut short and damage.
import { describe, expect, it } from 'vitest';
import { BoxFile, boxesIn, CHUNK, type FileBox } from '../../src/isobmff/file.js';
import { box, latin1, uints } from '../helpers/bytes.js';
import { sameFromDisk } from '../helpers/tempdir.js';

/** Every box between `start` and `end` of `bytes`, read from memory and from a file on disk: both must agree. */
async function walked(bytes: Buffer, start = 0, end = bytes.length): Promise<FileBox[]> {
  const walk = async (input: Buffer | string) => {
    const file = await BoxFile.open(input);
    try {
      const found: FileBox[] = [];
      for await (const batch of boxesIn(file, start, end)) found.push(...batch);
      return found;
    } finally {
      await file.close();
    }
  };
  return sameFromDisk(bytes, walk);
}

/** A box whose size is in the 64-bit field (size 1). */
const largeBox = (type: string, payload: Buffer) => Buffer.concat([uints(4, 1), latin1(type), uints(4, 0, 16 + payload.length), payload]);

describe('the boxes of a file, walked a chunk at a time', () => {
  it('are every box in order, the same from disk as from memory, wherever the reads split their headers', async () => {
    // 13-byte boxes: their headers straddle every 256 kB boundary sooner or later.
    const count = Math.ceil((3 * CHUNK) / 13);
    const bytes = Buffer.concat(Array.from({ length: count }, (_, i) => box(i % 2 ? 'free' : 'skip', Buffer.alloc(5, i & 0xff))));
    const boxes = await walked(bytes);
    expect(boxes).toHaveLength(count);
    boxes.forEach((found, i) => {
      if (found.start !== i * 13 || found.payload !== i * 13 + 8 || found.end !== i * 13 + 13 || found.cut) {
        expect.fail(`box ${i}: ${JSON.stringify(found)}`);
      }
    });
    expect(boxes.map((found) => found.type).slice(0, 3)).toEqual(['skip', 'free', 'skip']);
  });

  it('reads a 64-bit size, a size of 0 (to the end), and cuts a box that runs past its parent', async () => {
    const ftyp = box('ftyp', latin1('isom'), uints(4, 0));
    const large = largeBox('mdat', Buffer.alloc(300_000));
    const last = box('moov', Buffer.alloc(40));
    last.writeUInt32BE(0, 0);
    const file = Buffer.concat([ftyp, large, last]);
    expect(await walked(file)).toEqual([
      { type: 'ftyp', start: 0, payload: 8, end: 16, cut: false },
      { type: 'mdat', start: 16, payload: 32, end: 16 + large.length, cut: false },
      { type: 'moov', start: 16 + large.length, payload: 24 + large.length, end: file.length, cut: false },
    ]);
    // The same moov declaring 100 bytes more than the file holds, and a walk inside a parent that ends early.
    last.writeUInt32BE(last.length + 100, 0);
    expect((await walked(Buffer.concat([ftyp, last]))).at(-1)).toEqual({
      type: 'moov',
      start: 16,
      payload: 24,
      end: 16 + last.length,
      cut: true,
    });
    expect(await walked(Buffer.concat([ftyp, last]), 0, 20)).toEqual([{ type: 'ftyp', start: 0, payload: 8, end: 16, cut: false }]);
  });

  it('ends at damage: a size smaller than its header, or a 64-bit size cut off by the file’s end', async () => {
    const ftyp = box('ftyp', latin1('isom'), uints(4, 0));
    const damaged = box('free', Buffer.alloc(8));
    damaged.writeUInt32BE(5, 0);
    expect((await walked(Buffer.concat([ftyp, damaged, box('moov')]))).map((found) => found.type)).toEqual(['ftyp']);
    const cutOff = largeBox('mdat', Buffer.alloc(0)).subarray(0, 12);
    expect((await walked(Buffer.concat([ftyp, cutOff]))).map((found) => found.type)).toEqual(['ftyp']);
  });
});
