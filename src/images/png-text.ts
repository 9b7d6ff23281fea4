import { readFile } from 'node:fs/promises';
import { walkWindows } from './windows.js';

/**
 * A PNG's text chunks, which the decoder reads (and inflates, when compressed) though nothing of
 * them is kept: each compressed one is inflated up to 60 MB (libvips' chunk limit), so a 10.4 MB
 * PNG of 170 `zTXt` chunks of zeros took 1.9 s of CPU to accept, against 0.1 s for the picture.
 * Phones and editors write none to a handful (ImageMagick's profiles, one XMP packet).
 */
const TEXT = new Set([0x74455874 /* tEXt */, 0x7a545874 /* zTXt */, 0x69545874 /* iTXt */]);
/** The kinds that may be compressed (an `iTXt` says whether it is after its keyword, which a walk over headers does not read). */
const COMPRESSED_TEXT = new Set([0x7a545874 /* zTXt */, 0x69545874 /* iTXt */]);
const IEND = 0x49454e44;
/** Uncompressed text chunks cost the decoder a fraction of a microsecond each: a few are left in place. */
const PLAIN_TEXT_LEFT = 64;

const SIGNATURE = 8;

/**
 * The PNG `input` (its bytes or its path) as the decoder is to read it: the same, unless it has a
 * text chunk of a kind that may be compressed (`zTXt`, `iTXt`) or more than PLAIN_TEXT_LEFT plain
 * ones; then a copy without its text chunks (`tEXt`, `zTXt`, `iTXt`), every other chunk and any
 * damage where they were. The text is dropped from what is stored anyway; only its cost to the
 * decoder goes.
 */
export async function withoutCostlyText(input: Buffer | string): Promise<Buffer | string> {
  const counts = { compressed: 0, plain: 0 };
  const count = (type: number) => {
    if (COMPRESSED_TEXT.has(type)) counts.compressed++;
    else if (TEXT.has(type)) counts.plain++;
  };
  await walkWindows(input, SIGNATURE, (window, windowStart, at) => walk(window, windowStart, at, count));
  if (counts.compressed === 0 && counts.plain <= PLAIN_TEXT_LEFT) return input;
  // One buffer, the file's bytes (a copy of bytes in memory, which stay the caller's), compacted in place.
  const bytes = Buffer.isBuffer(input) ? Buffer.from(input) : await readFile(input);
  let length = 0;
  let from = 0;
  walk(bytes, 0, SIGNATURE, (type, start, next) => {
    if (!TEXT.has(type)) return;
    bytes.copyWithin(length, from, start);
    length += start - from;
    from = Math.min(next, bytes.length);
  });
  bytes.copyWithin(length, from);
  return bytes.subarray(0, length + bytes.length - from);
}

/**
 * Walks the chunk headers `window` (the file from `windowStart`) holds from `at`, calling `visit`
 * with each chunk's type, start and end; where the walk is to go on, or -1 once it is over (the
 * end chunk, or a chunk running past what the file can hold).
 */
function walk(window: Buffer, windowStart: number, at: number, visit: (type: number, start: number, next: number) => void): number {
  while (at + 8 <= windowStart + window.length) {
    const offset = at - windowStart;
    const type = window.readUInt32BE(offset + 4);
    const next = at + 12 + window.readUInt32BE(offset);
    visit(type, at, next);
    if (type === IEND) return -1;
    at = next;
  }
  return at;
}
