// A PNG's text chunks (src/images/png-text.ts): none is kept, and a compressed one is inflated by
// the decoder (up to 60 MB each), so a PNG with such chunks is decoded from a copy without them.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { withoutCostlyText } from '../../src/images/png-text.js';
import { InvalidImageError } from '../../src/images/checks.js';
import { latin1 } from '../helpers/bytes.js';
import { cameraLike, processed } from '../helpers/images.js';
import { inTempDir } from '../helpers/tempdir.js';

/** A PNG chunk: its length, its type, its data, its CRC. */
function chunk(type: string, data: Buffer): Buffer {
  const body = Buffer.concat([latin1(type), data]);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

const tEXt = (text: string) => chunk('tEXt', latin1(`Comment\0${text}`));
const zTXt = (bytes: Buffer) => chunk('zTXt', Buffer.concat([latin1('Raw profile type exif\0\0'), deflateSync(bytes)]));
const iTXt = (bytes: Buffer) => chunk('iTXt', Buffer.concat([latin1('XML:com.adobe.xmp\0\x01\0\0\0'), deflateSync(bytes)]));

/** The chunks of a PNG, by type, in order. */
function chunkTypes(png: Buffer): string[] {
  const types: string[] = [];
  for (let at = 8; at + 8 <= png.length; at += 12 + png.readUInt32BE(at)) types.push(png.toString('latin1', at + 4, at + 8));
  return types;
}

/** `png` with `before` inserted after its header chunk and `after` before its end chunk. */
function withChunks(png: Buffer, before: Buffer[], after: Buffer[] = []): Buffer {
  const iend = png.length - 12;
  return Buffer.concat([png.subarray(0, 33), ...before, png.subarray(33, iend), ...after, png.subarray(iend)]);
}

const picture = () => cameraLike(320, 240).png().toBuffer();
const pixels = async (input: Buffer | string) => (await sharp(input).raw().toBuffer()).toString('base64');

describe('a PNG’s text chunks', () => {
  it('are left where they cost nothing: a PNG of a few plain ones is decoded as it came, from memory or disk', async () => {
    const png = withChunks(await picture(), [tEXt('made here')], [tEXt('and here')]);
    expect(await withoutCostlyText(png)).toBe(png);
    await inTempDir('png-text-', async (dir) => {
      const file = path.join(dir, 'upload.png');
      writeFileSync(file, png);
      expect(await withoutCostlyText(file)).toBe(file);
    });
  });

  it('are taken out, compressed or plain, before and after the picture’s data, when any is compressed or many are plain; the pixels are the same', async () => {
    const original = await picture();
    const costly = {
      'a zTXt': withChunks(original, [tEXt('one'), zTXt(Buffer.alloc(1000))]),
      'an iTXt after the data': withChunks(original, [], [iTXt(Buffer.from('<x:xmpmeta/>')), tEXt('two')]),
      '65 tEXt': withChunks(
        original,
        Array.from({ length: 65 }, (_, i) => tEXt(`${i}`)),
      ),
    };
    for (const [label, png] of Object.entries(costly)) {
      await inTempDir('png-text-', async (dir) => {
        const file = path.join(dir, 'upload.png');
        writeFileSync(file, png);
        for (const input of [png, file]) {
          const decoded = await withoutCostlyText(input);
          expect(Buffer.isBuffer(decoded), label).toBe(true);
          expect(chunkTypes(decoded as Buffer), label).toEqual(chunkTypes(original));
          expect(await pixels(decoded), label).toBe(await pixels(original));
        }
      });
    }
  });

  it('inflating to 60 MB each (what a decoder reads of them) do not keep a picture from being stored, nor damage from being refused', async () => {
    const original = await picture();
    // 40 chunks of 60 MB of zeros, 2.4 MB in all: the decoder inflated each (0.83 s of CPU when they reached it, 0.1 s without them).
    const zeros = zTXt(Buffer.alloc(60 * 1024 * 1024));
    const bomb = withChunks(original, Array<Buffer>(40).fill(zeros));
    const stored = await processed(bomb);
    expect([stored.width, stored.height, stored.input.format]).toEqual([320, 240, 'png']);
    expect(await pixels(stored.buffer)).toBe(await pixels(await processed(original).then((result) => result.buffer)));
    // A text chunk declaring more bytes than the file holds: the copy ends where it starts, and the decoder refuses what is left.
    const cut = Buffer.concat([original.subarray(0, 33), zTXt(Buffer.alloc(100)).subarray(0, 20)]);
    cut.writeUInt32BE(1_000_000, 33);
    expect(chunkTypes((await withoutCostlyText(cut)) as Buffer)).toEqual(['IHDR']);
    await expect(processed(cut)).rejects.toBeInstanceOf(InvalidImageError);
  });
});
