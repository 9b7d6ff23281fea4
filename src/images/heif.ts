import { readFile } from 'node:fs/promises';
import { Piscina } from 'piscina';

/** Decoded pixels: RGBA, 8 bits per channel, the HEIF container's rotation and mirroring applied. */
export interface DecodedHeif {
  width: number;
  height: number;
  data: Uint8ClampedArray;
}

// From source (tests, `npm run dev`) the worker is TypeScript and loads through tsx; built, it is JavaScript.
const fromSource = import.meta.url.endsWith('.ts');

let pool: Piscina | undefined;

/**
 * The worker thread that decodes HEVC-coded HEIF. Started on the first HEIC upload; left idle for
 * 30 s it exits, giving back the WebAssembly memory a decode grew to (about 150 MB for 12 MP, which
 * WebAssembly never shrinks). One thread: HEIC decodes queue here (inside the image limiter), so
 * four 12 MP HEIC uploads at once cost one decoder's memory, not four.
 */
function heifPool(): Piscina {
  pool ??= new Piscina({
    filename: new URL(fromSource ? './heif-worker.ts' : './heif-worker.js', import.meta.url).href,
    execArgv: fromSource ? ['--import', 'tsx'] : [],
    minThreads: 0,
    maxThreads: 1,
    idleTimeout: 30_000,
  });
  return pool;
}

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
    return (await heifPool().run({ bytes, maxPixels }, { signal })) as DecodedHeif;
  } catch (error) {
    throw new HeifDecodeError(error);
  }
}

/** Ends the worker threads (tests and shutdown). */
export async function closeHeifPool(): Promise<void> {
  const current = pool;
  pool = undefined;
  await current?.destroy();
}
