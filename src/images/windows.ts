import { open } from 'node:fs/promises';

/** Bytes read at a time from a file on disk. */
const WINDOW = 256 * 1024;

/**
 * Walks a file (its bytes, or its path) a window at a time: the walks over a file's own structure
 * made before a decoder reads it (JPEG markers, WebP chunks, GIF blocks, PNG chunks).
 * `step(window, windowStart, at)` walks what `window` (the file from `windowStart`) holds from `at`
 * and returns where the walk goes on, or -1 once it is over. Bytes in memory are one window. From
 * disk, each window is read from where the walk stands, so what it skips is never read, and the
 * walk ends where a window gets it no further (the file ends there).
 */
export async function walkWindows(
  input: Buffer | string,
  from: number,
  step: (window: Buffer, windowStart: number, at: number) => number,
): Promise<void> {
  if (Buffer.isBuffer(input)) {
    step(input, 0, from);
    return;
  }
  const handle = await open(input, 'r');
  try {
    const window = Buffer.allocUnsafe(WINDOW);
    for (let at = from; at >= 0;) {
      const { bytesRead } = await handle.read(window, 0, WINDOW, at);
      const next = step(window.subarray(0, bytesRead), at, at);
      at = next === at ? -1 : next;
    }
  } finally {
    await handle.close();
  }
}
