import { BoxFile } from '../isobmff/file.js';

/**
 * Walks a file (its bytes, or its path) a window at a time: the walks over a file's own structure
 * made before a decoder reads it (JPEG markers, WebP chunks, GIF blocks, PNG chunks).
 * `step(window, windowStart, at)` walks what `window` (the file from `windowStart`) holds from `at`
 * and returns where the walk goes on, or -1 once it is over. Bytes in memory are one window from
 * where the walk stands. From disk, each window is a chunk read from where the walk stands (the
 * reader the box walks use), so what it skips is never read, and the walk ends where a window gets
 * it no further (the file ends there).
 */
export async function walkWindows(
  input: Buffer | string,
  from: number,
  step: (window: Buffer, windowStart: number, at: number) => number,
): Promise<void> {
  const file = await BoxFile.open(input);
  try {
    for (let at = from; at >= 0;) {
      const next = step(await file.load(at, Number.POSITIVE_INFINITY), at, at);
      at = next === at ? -1 : next;
    }
  } finally {
    await file.close();
  }
}
