import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'vitest';

/** Runs `work` in a fresh temporary folder (named from `prefix`), removed afterwards whatever happens. */
export async function inTempDir<T>(prefix: string, work: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  try {
    return await work(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * What `read` makes of `bytes` in memory and of the same bytes in a file on disk (as an upload
 * held in memory or streamed to a temporary file arrives), which must be equal; the first.
 */
export async function sameFromDisk<T>(bytes: Buffer, read: (input: Buffer | string) => Promise<T>): Promise<T> {
  const inMemory = await read(bytes);
  const fromDisk = await inTempDir('same-from-disk-', async (dir) => {
    const file = path.join(dir, 'upload');
    await writeFile(file, bytes);
    return read(file);
  });
  expect(fromDisk).toEqual(inMemory);
  return inMemory;
}
