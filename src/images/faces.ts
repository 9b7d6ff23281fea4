import { lazyWorker } from './worker-pool.js';
import type { PictureMeasures } from './measures.js';

/** A face found in a picture: its box in the picture's pixels, and the detector's confidence (0–1). */
export interface FaceBox {
  x: number;
  y: number;
  width: number;
  height: number;
  score: number;
}

/**
 * One worker thread runs the detector: a task takes about 35 ms (p95 80 ms here), so uploads
 * queue here briefly rather than each holding the models. Left idle for a minute it exits (its
 * WebAssembly memory goes with it); the next upload loads the models again (about half a second).
 * Each check leaves megabytes of short-lived JavaScript garbage (tensor bookkeeping, copies of
 * results): an 8 MB young generation keeps the thread's heap near 28 MB instead of 53 MB (30 MB
 * less resident after 200 varied photos) at the same CPU per check; 4 MB saved a little more
 * memory but cost 10 % more CPU.
 */
const faceWorker = lazyWorker('face-worker', 60_000, { youngGenerationMb: 8 });

/** The detector works on a copy at most this long (BlazeFace itself looks at 256 × 256). */
export const FACE_INPUT_EDGE = 640;

/**
 * Faces in RGB pixels (at most FACE_INPUT_EDGE on their long side; largest first, in those pixels)
 * and the picture's measures, or undefined when the check could not run (the detector failed or
 * took longer than `timeoutMs`): an upload never fails for it.
 */
export async function detectFaces(
  pixels: { data: Buffer; width: number; height: number },
  timeoutMs: number,
): Promise<{ faces: FaceBox[]; measures: PictureMeasures } | undefined> {
  try {
    const data = new Uint8Array(pixels.data.buffer, pixels.data.byteOffset, pixels.data.byteLength);
    const found = (await faceWorker
      .get()
      .run({ data, width: pixels.width, height: pixels.height }, { signal: AbortSignal.timeout(timeoutMs) })) as {
      faces: FaceBox[];
      measures: PictureMeasures;
    };
    return found;
  } catch {
    return undefined;
  }
}

/** Starts the worker thread and loads the models (at server start), so the first upload does not wait for them. */
export async function warmFaceCheck(): Promise<void> {
  await faceWorker.get().run({ warm: true });
}

/** Ends the worker thread (tests and shutdown). */
export function closeFacePool(): Promise<void> {
  return faceWorker.close();
}
