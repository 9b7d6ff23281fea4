// What an MP4's or MOV's own boxes declare (src/video/mov-boxes.ts), read before ffmpeg opens it:
// a compressed movie header, which ffmpeg inflates into the size it declares, and the samples it
// indexes, whose memory it allocates from their declared count.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readMovieBoxes } from '../../src/video/mov-boxes.js';
import { box, latin1, uints } from '../helpers/bytes.js';
import { inTempDir } from '../helpers/tempdir.js';
import { compressedMovieHeader, fragmentedVideo, probe, video, withRunDeclaring } from '../helpers/videos.js';

const boxesOf = (bytes: Buffer) =>
  inTempDir('mov-boxes-', async (dir) => {
    const file = path.join(dir, 'clip.mov');
    await writeFile(file, bytes);
    return readMovieBoxes(file);
  });
const found = async (bytes: Buffer) => (await boxesOf(bytes)).compressed;

const ftyp = box('ftyp', latin1('qt  '), uints(4, 0x200), latin1('qt  '));
const signature = Buffer.concat([box('dcom', latin1('zlib')), box('cmvd', uints(4, 1024))]);

describe('a compressed movie header', () => {
  it('is found in the movie box, wherever its bytes fall in the reads, and not in a real video', async () => {
    expect(await found(compressedMovieHeader(1024 ** 2))).toBe(true);
    expect(await found(await video({ container: 'mov' }))).toBe(false);
    expect(await found(await video({ container: 'mp4' }))).toBe(false);
    // The signature across the boundary of two 256 kB reads, after the media data.
    for (const before of [256 * 1024 - 20, 256 * 1024 - 3, 256 * 1024]) {
      const moov = box('moov', box('udta', Buffer.alloc(before)), box('cmov', signature));
      expect(await found(Buffer.concat([ftyp, box('mdat', Buffer.alloc(100)), moov]))).toBe(true);
    }
  });

  it('is found past a run of hundreds of thousands of tiny boxes (read a chunk at a time, not a box at a time)', async () => {
    const tiny = Buffer.concat(Array.from({ length: 300_000 }, () => box('free')));
    expect(await found(Buffer.concat([ftyp, tiny, box('moov', box('cmov', signature))]))).toBe(true);
    expect(await found(Buffer.concat([ftyp, tiny, box('moov', box('mvhd', Buffer.alloc(100)))]))).toBe(false);
  });

  it('is not looked for in the media data, with a 32-bit or 64-bit size', async () => {
    const moov = box('moov', box('mvhd', Buffer.alloc(100)));
    const inMdat = Buffer.concat([latin1('xx'), box('cmov', signature)]);
    expect(await found(Buffer.concat([ftyp, moov, box('mdat', inMdat)]))).toBe(false);
    const large = Buffer.concat([uints(4, 1), latin1('mdat'), uints(4, 0, 16 + inMdat.length), inMdat]);
    expect(await found(Buffer.concat([ftyp, large, moov]))).toBe(false);
    expect(await found(Buffer.concat([ftyp, large, box('moov', box('cmov', signature))]))).toBe(true);
  });
});

describe('the samples a file declares', () => {
  const framesOf = async (bytes: Buffer) =>
    (await probe(bytes)).streams.reduce((sum, s) => sum + Number((s as { nb_frames?: string }).nb_frames ?? 0), 0);

  it('are those ffprobe counts, from the sample tables of an MP4 or a MOV and from the runs of a fragmented MP4', async () => {
    for (const container of ['mp4', 'mov'] as const) {
      const bytes = await video({ container, seconds: 3 });
      expect((await boxesOf(bytes)).indexedSamples).toBe(await framesOf(bytes));
    }
    const whole = await video({ container: 'mp4', seconds: 3 });
    const fragmented = await fragmentedVideo({ seconds: 3 });
    expect((await boxesOf(fragmented)).indexedSamples).toBe(await framesOf(whole));
  });

  it('count a run’s declared samples, which ffmpeg allocates for before reading them', async () => {
    const fragmented = await fragmentedVideo({ seconds: 3 });
    const declaring = async (samples: number) => (await boxesOf(withRunDeclaring(fragmented, samples))).indexedSamples;
    expect((await declaring(60_000_000)) - (await declaring(1))).toBe(60_000_000 - 1);
  });
});
