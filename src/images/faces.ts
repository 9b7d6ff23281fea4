import sharp from 'sharp';
import { lazyWorker, type WorkerState } from './worker-pool.js';
import type { FaceTask, Rgb, WarmTask } from './face-worker.js';
import type { PictureMeasures } from './measures.js';

/** A face found in a picture: its box in the picture's pixels, and the detector's confidence (0–1). */
export interface FaceBox {
  x: number;
  y: number;
  width: number;
  height: number;
  score: number;
}

/** A minute without checks ends the thread, and lets go of the memory the checks' pixels went through. */
const IDLE_MS = 60_000;

/**
 * One worker thread runs the detector: a task takes about 35 ms (p95 80 ms here), so uploads
 * queue here briefly rather than each holding the models. Left idle for a minute it exits (its
 * WebAssembly memory goes with it); the next upload loads the models again (about half a second),
 * starting as its file arrives.
 * Each check leaves megabytes of short-lived JavaScript garbage (tensor bookkeeping, copies of
 * results): an 8 MB young generation keeps the thread's heap near 28 MB instead of 53 MB (30 MB
 * less resident after 200 varied photos) at the same CPU per check; 4 MB saved a little more
 * memory but cost 10 % more CPU.
 */
const faceWorker = lazyWorker('face-worker', IDLE_MS, { youngGenerationMb: 8, warmTask: { warm: true } satisfies WarmTask });

/**
 * The analysis copy is at most this long: the hints' measures (sharpness above all) are judged on
 * it, and their limits were set at this size (analysis.ts).
 */
export const FACE_INPUT_EDGE = 640;

/**
 * The detector looks at a copy at most this long, made from the analysis copy. BlazeFace itself
 * looks at 256 × 256, and the face mesh at 192 × 192 cut around each face; what a larger copy
 * costs is TensorFlow.js's WebAssembly memory, which holds three copies of the detector's input
 * at once and never shrinks. On the 76 pictures of the labelled set (test/images/faces.test.ts),
 * against the detector on the 640 px copy: the same face or no face decision, the same hints and
 * the same largest face for every one, each face within IoU 0.85 of its box before (median 0.99),
 * and 11–17 MB less peak RSS in a process that ran the whole set (three alternating pairs); the
 * 32-upload burst peaked 13–16 MB lower (two pairs).
 */
export const DETECTOR_EDGE = 480;

/** The analysis copy at most DETECTOR_EDGE long (itself when it already is). */
async function detectorCopy(pixels: Rgb): Promise<Rgb> {
  if (Math.max(pixels.width, pixels.height) <= DETECTOR_EDGE) return pixels;
  const { data, info } = await sharp(pixels.data, { raw: { width: pixels.width, height: pixels.height, channels: 3 } })
    .resize(DETECTOR_EDGE, DETECTOR_EDGE, { fit: 'inside' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

/**
 * The memory the pixels of a check reach the thread through: shared with it, and kept for the next
 * check. In a task's message they were cloned twice, into the message and out of it in the thread,
 * each time into fresh memory (glibc maps every buffer over `MALLOC_MMAP_THRESHOLD_` afresh, and
 * the first touch of each 4 KB page is a fault): cloning 1.2 MB took 4–6 ms of the server's thread
 * here, and as much again in the check's (docs/performance.md has the whole measure). One
 * block holds the largest analysis copy and detector copy; up to SHARED_KEPT are kept (a picture
 * slot's check each, at the default IMAGE_CONCURRENCY on 2 cores), and let go after a minute
 * without checks, as the thread is.
 */
const SHARED_BYTES = (FACE_INPUT_EDGE * FACE_INPUT_EDGE + DETECTOR_EDGE * DETECTOR_EDGE) * 3;
const SHARED_KEPT = 2;
const sharedFree: SharedArrayBuffer[] = [];
let sharedIdle: NodeJS.Timeout | undefined;

function sharedPixels(bytes: number): SharedArrayBuffer {
  return (bytes <= SHARED_BYTES && sharedFree.pop()) || new SharedArrayBuffer(Math.max(bytes, SHARED_BYTES));
}

function keepShared(block: SharedArrayBuffer): void {
  if (block.byteLength === SHARED_BYTES && sharedFree.length < SHARED_KEPT) sharedFree.push(block);
  sharedIdle ??= setTimeout(() => {
    sharedFree.length = 0;
    sharedIdle = undefined;
  }, IDLE_MS).unref();
  sharedIdle.refresh();
}

/**
 * Faces in the analysis copy's RGB pixels (at most FACE_INPUT_EDGE on their long side; largest
 * first, in those pixels; found on a copy at most DETECTOR_EDGE long) and the picture's measures,
 * or undefined when the check could not run (the detector failed or took longer than
 * `timeoutMs`): an upload never fails for it.
 */
export async function detectFaces(pixels: Rgb, timeoutMs: number): Promise<{ faces: FaceBox[]; measures: PictureMeasures } | undefined> {
  try {
    await expectFaceCheck();
    const detector = await detectorCopy(pixels);
    const own = detector === pixels ? undefined : detector;
    const shared = sharedPixels(pixels.data.length + (own?.data.length ?? 0));
    try {
      const view = new Uint8Array(shared);
      view.set(pixels.data);
      if (own) view.set(own.data, pixels.data.length);
      const task = {
        pixels: shared,
        width: pixels.width,
        height: pixels.height,
        detector: own && { width: own.width, height: own.height },
      };
      return await faceWorker.run<{ faces: FaceBox[]; measures: PictureMeasures }>(task satisfies FaceTask, timeoutMs);
    } finally {
      keepShared(shared);
    }
  } catch {
    return undefined;
  }
}

/** Whether a picture asked for the face check since the process started (or the thread was closed). */
let asked = false;

/**
 * A picture is arriving (its upload's file has started to come in): when the thread is not running
 * (after start-up, or a minute without uploads), it starts, loads the models and runs the first
 * detection while the rest of the body arrives and is decoded, so the picture's check finds them
 * ready; a check's own time limit starts only after them (a picture would otherwise spend most of
 * its limit on them, and past it keep variants framed without its face for good). Rejects when
 * the models could not load (the picture's check will then be skipped).
 */
export function expectFaceCheck(): Promise<void> {
  asked = true;
  return faceWorker.ready();
}

/**
 * Checks at server start that the models load (a failure is the caller's to report), then ends
 * the thread unless a picture has asked for it (one may arrive as soon as the server listens):
 * held, the thread and its models are 30–40 MB of a server at rest, and every upload starts
 * loading them as its file arrives (expectFaceCheck).
 */
export async function checkFaceModels(): Promise<void> {
  await faceWorker.ready();
  if (!asked) await faceWorker.close();
}

/** Where the face check stands: no thread, a thread loading its models, or one ready to check. */
export function faceCheckState(): WorkerState {
  return faceWorker.state();
}

/** Ends the worker thread, as if no picture had asked for it yet (tests and shutdown). */
export function closeFacePool(): Promise<void> {
  asked = false;
  return faceWorker.close();
}
