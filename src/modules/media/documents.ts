import { open } from 'node:fs/promises';

/** Reads `length` bytes at `position` (negative: from the end). */
async function readSlice(path: string, bytes: number, position: number, length: number): Promise<Buffer> {
  const handle = await open(path, 'r');
  try {
    const start = position < 0 ? Math.max(0, bytes + position) : position;
    const buffer = Buffer.alloc(Math.min(length, bytes - start));
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, start);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/**
 * A PDF by its bytes: the %PDF-1.x / %PDF-2.x header at the start and an %%EOF trailer near the
 * end. It is stored as uploaded (PDFs cannot be re-encoded like images), so it is always served
 * as an attachment inside a sandbox (see storage and http/media.ts).
 */
export async function isPdf(path: string, bytes: number): Promise<boolean> {
  if (bytes < 16) return false;
  const head = (await readSlice(path, bytes, 0, 16)).toString('latin1');
  if (!/^%PDF-[12]\.\d/.test(head)) return false;
  const tail = (await readSlice(path, bytes, -1024, 1024)).toString('latin1');
  return tail.includes('%%EOF');
}
