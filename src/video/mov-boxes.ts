import { BoxFile, boxesIn, CHUNK } from '../isobmff/file.js';
import { declaredSamples, declaresSamples } from '../isobmff/samples.js';

/**
 * What opens a compressed QuickTime movie header: a `cmov` box holding `dcom` (its compressor,
 * `zlib`) then `cmvd`. ffmpeg allocates the size `cmvd` declares (up to 2 GB) and inflates into
 * it: a 1.46 MB MOV declaring 1.5 GB took ffprobe to 1.5 GB and 10 s before anything else was read.
 * QuickTime wrote such headers in the 1990s; no camera or phone does.
 */
const COMPRESSED_HEADER = Buffer.from('dcomzlib', 'latin1');

/** Top-level boxes ffmpeg never parses inside: the media data and padding. */
const UNPARSED = new Set(['mdat', 'free', 'skip', 'wide']);

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
  const file = await BoxFile.open(path);
  try {
    const found: MovieBoxes = { compressed: false, indexedSamples: 0 };
    for await (const batch of boxesIn(file, 0, file.size)) {
      for (const box of batch) {
        if (UNPARSED.has(box.type)) continue;
        // Read in views that overlap by the signature's length less one, so none is split.
        for (let from = box.start; from < box.end && !found.compressed; from += CHUNK - (COMPRESSED_HEADER.length - 1)) {
          const want = Math.min(CHUNK, box.end - from);
          found.compressed = (file.peek(from, want) ?? (await file.load(from, want))).includes(COMPRESSED_HEADER);
          if (from + CHUNK >= box.end) break;
        }
        if (declaresSamples(box))
          found.indexedSamples += (await declaredSamples(file, box, 'not counted')).reduce((sum, samples) => sum + samples, 0);
      }
    }
    return found;
  } finally {
    await file.close();
  }
}
