// The samples a movie's tracks declare (MP4, MOV, a HEIF or AVIF image sequence), read from the
// headers of their sample tables and fragment runs, never the tables: the readers (ffmpeg, libheif)
// allocate their index from the declared count before reading a sample.
import { boxesIn, type BoxFile, type FileBox } from './file.js';

/** Boxes on the way from a movie and its fragments to their sample tables and runs. */
const CONTAINERS = new Set(['moov', 'trak', 'mdia', 'minf', 'stbl', 'moof', 'traf']);
/** Deepest a sample table lies: moov, trak, mdia, minf, stbl. */
const DEEPEST = 5;

/** Whether a top-level box is one the movie's samples are declared under (`moov`, `moof`, or a part of one out of place). */
export const declaresSamples = (box: FileBox): boolean => CONTAINERS.has(box.type);

/**
 * The samples declared under `parent` (a `moov` or `moof`), one count per track (`trak`) or
 * track fragment (`traf`), in order: each sample-size table's (`stsz`, `stz2`) and each fragment
 * run's (`trun`). A `stsz` giving one size for every sample is counted only when `sameSize` is
 * `'counted'` (libheif indexes each sample of it; ffmpeg does not). A table outside any track
 * counts as a track of its own.
 */
export async function declaredSamples(file: BoxFile, parent: FileBox, sameSize: 'counted' | 'not counted'): Promise<number[]> {
  const tracks: number[] = [];
  await addSamples(file, parent, 1, tracks, -1, sameSize === 'counted');
  return tracks;
}

async function addSamples(
  file: BoxFile,
  parent: FileBox,
  depth: number,
  tracks: number[],
  track: number,
  sameSize: boolean,
): Promise<void> {
  for await (const batch of boxesIn(file, parent.payload, parent.end)) {
    for (const box of batch) {
      if (CONTAINERS.has(box.type)) {
        const inner = box.type === 'trak' || box.type === 'traf' ? tracks.push(0) - 1 : track;
        if (depth < DEEPEST) await addSamples(file, box, depth + 1, tracks, inner, sameSize);
        continue;
      }
      // stsz: version and flags, the size every sample has (0: a table of sizes follows), the count.
      // stz2: version and flags, 3 reserved bytes and the field size, the count. trun: version and flags, the count.
      const at = box.type === 'stsz' || box.type === 'stz2' ? 8 : box.type === 'trun' ? 4 : undefined;
      if (at === undefined || box.payload + at + 4 > box.end) continue;
      const fields = file.peek(box.payload, at + 4) ?? (await file.load(box.payload, at + 4));
      if (fields.length < at + 4) continue;
      if (box.type === 'stsz' && !sameSize && fields.readUInt32BE(4) !== 0) continue;
      if (track < 0) track = tracks.push(0) - 1;
      tracks[track]! += fields.readUInt32BE(at);
    }
  }
}
