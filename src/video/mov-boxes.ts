import { open, type FileHandle } from 'node:fs/promises';

/**
 * What opens a compressed QuickTime movie header: a `cmov` box holding `dcom` (its compressor,
 * `zlib`) then `cmvd`. ffmpeg allocates the size `cmvd` declares (up to 2 GB) and inflates into
 * it: a 1.46 MB MOV declaring 1.5 GB took ffprobe to 1.5 GB and 10 s before anything else was read.
 * QuickTime wrote such headers in the 1990s; no camera or phone does.
 */
const COMPRESSED_HEADER = Buffer.from('dcomzlib', 'latin1');

/** Top-level boxes ffmpeg never parses inside: the media data and padding. */
const UNPARSED = new Set(['mdat', 'free', 'skip', 'wide']);

/** Bytes read at a time: a run of small boxes is read once, not once a box. */
const CHUNK = 256 * 1024;

/** Boxes on the way from the movie and its fragments to their sample tables and runs. */
const CONTAINERS = new Set(['moov', 'trak', 'mdia', 'minf', 'stbl', 'moof', 'traf']);
/** Deepest a sample table lies: moov, trak, mdia, minf, stbl. */
const DEEPEST = 5;

/** What an MP4's or MOV's own boxes say, read before ffmpeg opens it. */
export interface MovieBoxes {
  /** It carries a compressed movie header anywhere ffmpeg would parse it. */
  compressed: boolean;
  /**
   * Samples ffmpeg indexes one by one as it opens the file, every track together, as declared:
   * each sample-size table's (`stsz` with a size per sample, `stz2`) and each fragment run's
   * (`trun`). ffmpeg allocates a run's index from its count alone: a few-kB fragmented MP4 whose
   * one run declares 60 million samples took ffprobe to 545 MB.
   */
  indexedSamples: number;
}

/**
 * Reads an ISO BMFF file's (MP4, MOV) boxes: every top-level box but the media data and padding is
 * searched for a compressed movie header, and the movie's and its fragments' sample counts are
 * read from the headers of their tables (a table itself is not read). The file is read in chunks,
 * skipping what is not searched, so its cost follows its size, never its number of boxes (a
 * million 8-byte boxes read one at a time took 39 s; in chunks, 200 ms).
 */
export async function readMovieBoxes(path: string): Promise<MovieBoxes> {
  const handle = await open(path, 'r');
  try {
    const file = new Window(handle, (await handle.stat()).size);
    const found: MovieBoxes = { compressed: false, indexedSamples: 0 };
    for await (const box of boxesIn(file, 0, file.size)) {
      if (UNPARSED.has(box.type)) continue;
      // Read in views that overlap by the signature's length less one, so none is split.
      for (let from = box.start; from < box.end && !found.compressed; from += CHUNK - (COMPRESSED_HEADER.length - 1)) {
        const want = Math.min(CHUNK, box.end - from);
        found.compressed = (file.peek(from, want) ?? (await file.load(from, want))).includes(COMPRESSED_HEADER);
        if (from + CHUNK >= box.end) break;
      }
      if (CONTAINERS.has(box.type)) await countSamples(file, box, 1, found);
    }
    return found;
  } finally {
    await handle.close();
  }
}

interface Box {
  type: string;
  /** Where the box's header starts, where its payload starts, and where it ends. */
  start: number;
  payload: number;
  end: number;
}

/** The boxes between `start` and `end`; one that runs past `end` is cut there. */
async function* boxesIn(file: Window, start: number, end: number): AsyncGenerator<Box> {
  for (let at = start; at + 8 <= end;) {
    if (++file.boxesWalked % 65_536 === 0) await new Promise(setImmediate);
    const want = Math.min(16, end - at);
    const header = file.peek(at, want) ?? (await file.load(at, want));
    let size = header.readUInt32BE(0);
    let payload = at + 8;
    if (size === 1) {
      if (header.length < 16) return;
      size = Number(header.readBigUInt64BE(8));
      payload = at + 16;
    } else if (size === 0) size = end - at;
    if (size < payload - at) return;
    const boxEnd = Math.min(at + size, end);
    yield { type: header.toString('latin1', 4, 8), start: at, payload, end: boxEnd };
    at = boxEnd;
  }
}

/** Adds the samples declared under a movie, track or fragment box (see MovieBoxes.indexedSamples). */
async function countSamples(file: Window, parent: Box, depth: number, found: MovieBoxes): Promise<void> {
  for await (const box of boxesIn(file, parent.payload, parent.end)) {
    if (CONTAINERS.has(box.type)) {
      if (depth < DEEPEST) await countSamples(file, box, depth + 1, found);
      continue;
    }
    // stsz: version and flags, the size every sample has (0: a table of sizes follows), the count.
    // stz2: version and flags, 3 reserved bytes and the field size, the count. trun: version and flags, the count.
    const at = box.type === 'stsz' || box.type === 'stz2' ? 8 : box.type === 'trun' ? 4 : undefined;
    if (at === undefined || box.payload + at + 4 > box.end) continue;
    const fields = file.peek(box.payload, at + 4) ?? (await file.load(box.payload, at + 4));
    if (fields.length < at + 4) continue;
    if (box.type === 'stsz' && fields.readUInt32BE(4) !== 0) continue;
    found.indexedSamples += fields.readUInt32BE(at);
  }
}

/** The bytes of a file a chunk at a time: bytes inside the chunk last read cost no read. */
class Window {
  private readonly chunk = Buffer.allocUnsafe(CHUNK);
  /** Boxes walked in this file so far: every 65 536 the walk gives way to other work. */
  boxesWalked = 0;
  private start = 0;
  private length = 0;

  constructor(
    private readonly handle: FileHandle,
    readonly size: number,
  ) {}

  /** `length` bytes from `at` if the chunk held covers them (no read, no wait). */
  peek(at: number, length: number): Buffer | undefined {
    if (at < this.start || at + length > this.start + this.length) return undefined;
    return this.chunk.subarray(at - this.start, at - this.start + length);
  }

  /** Reads the chunk from `at`: `length` bytes (at most CHUNK), or fewer where the file ends. */
  async load(at: number, length: number): Promise<Buffer> {
    const { bytesRead } = await this.handle.read(this.chunk, 0, CHUNK, at);
    this.start = at;
    this.length = bytesRead;
    return this.chunk.subarray(0, Math.min(length, bytesRead));
  }
}
