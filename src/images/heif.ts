import { readFile } from 'node:fs/promises';
import { lazyWorker } from './worker-pool.js';

/** Decoded pixels: RGBA, 8 bits per channel, the HEIF container's rotation and mirroring applied. */
export interface DecodedHeif {
  width: number;
  height: number;
  data: Uint8ClampedArray;
}

/**
 * The worker thread that decodes HEVC-coded HEIF. Started on the first HEIC upload; left idle for
 * 30 s it exits, giving back the WebAssembly memory a decode grew to (about 150 MB for 12 MP, which
 * WebAssembly never shrinks). One thread: HEIC decodes queue here (inside the image limiter), so
 * four 12 MP HEIC uploads at once cost one decoder's memory, not four.
 */
const heifWorker = lazyWorker('heif-worker', 30_000);

export class HeifDecodeError extends Error {
  constructor(cause: unknown) {
    super('HEIF decoding failed', { cause });
    this.name = 'HeifDecodeError';
  }
}

/** Decodes a HEIF file (its bytes, or its path) in a worker thread; gives up (ending the worker) after `timeoutMs`. */
export async function decodeHeif(input: Buffer | string, maxPixels: number, timeoutMs: number): Promise<DecodedHeif> {
  const bytes = Buffer.isBuffer(input) ? input : await readFile(input);
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    return (await heifWorker.get().run({ bytes, maxPixels }, { signal })) as DecodedHeif;
  } catch (error) {
    throw new HeifDecodeError(error);
  }
}

/** Ends the worker threads (tests and shutdown). */
export function closeHeifPool(): Promise<void> {
  return heifWorker.close();
}
