// Runs in a worker thread (see faces.ts): BlazeFace finds face candidates and the face mesh model
// confirms each (a candidate without a face shape is dropped), from @vladmandic/human on
// TensorFlow.js's WebAssembly backend. The models (about 2 MB) and the WebAssembly binaries ship
// inside their npm packages; nothing is downloaded. Loaded once per thread, on its first task.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { measurePixels } from './measures.js';
import { giveBackMemory } from '../gc.js';

const require = createRequire(import.meta.url);

/** A TensorFlow.js graph model's JSON file (weights in the files its manifest names). */
interface ModelJson {
  modelTopology: unknown;
  weightsManifest: { paths: string[]; weights: unknown[] }[];
  format?: string;
  generatedBy?: string;
  convertedBy?: string;
  signature?: unknown;
  userDefinedMetadata?: unknown;
  modelInitializer?: unknown;
}
/** What TensorFlow.js loads a graph model from. */
type ModelArtifacts = Omit<ModelJson, 'weightsManifest'> & { weightSpecs: unknown[]; weightData: ArrayBuffer };
interface HumanFace {
  box: [number, number, number, number];
  /** The face mesh's 468 landmarks, [x, y, z] in the input's pixels. */
  mesh: [number, number, number][];
  boxScore: number;
  faceScore: number;
  score: number;
}
interface HumanInstance {
  tf: {
    tensor4d(values: Uint8Array | Int32Array, shape: [number, number, number, number], dtype: 'int32'): { dispose(): void };
    io: { registerLoadRouter(router: (url: string | string[]) => { load(): Promise<ModelArtifacts> } | null): void };
  };
  load(): Promise<void>;
  detect(input: unknown): Promise<{ face: HumanFace[]; error?: string | null }>;
}

// @vladmandic/human's "exports" map names its builds without "./", so they are loaded by path.
const dist = path.dirname(require.resolve('@vladmandic/human'));
const models = path.join(dist, '..', 'models');

/** The detector's confidence a candidate needs (the labelled set in test/fixtures/faces was right on 97 % at 0.4). */
const MIN_CONFIDENCE = 0.4;

/** A TensorFlow.js graph model read from disk (its JSON and weight files), for `file://` model paths. */
async function fromDisk(file: string): Promise<ModelArtifacts> {
  const { weightsManifest, ...model } = JSON.parse(await readFile(file, 'utf8')) as ModelJson;
  const weights = Buffer.concat(
    await Promise.all(weightsManifest.flatMap((group) => group.paths.map((name) => readFile(path.join(path.dirname(file), name))))),
  );
  return {
    ...model,
    weightSpecs: weightsManifest.flatMap((group) => group.weights),
    weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength) as ArrayBuffer,
  };
}

async function load(): Promise<HumanInstance> {
  const { Human } = require(path.join(dist, 'human.node-wasm.js')) as { Human: new (config: object) => HumanInstance };
  const human = new Human({
    backend: 'wasm',
    wasmPath: `${path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm'))}${path.sep}`,
    modelBasePath: `file://${models}/`,
    debug: false,
    async: true,
    warmup: 'none',
    // Every picture is new: no result carried over from a "previous frame" (see also skipFrames).
    cacheSensitivity: 0,
    filter: { enabled: false },
    face: {
      enabled: true,
      detector: {
        modelPath: 'blazeface.json',
        rotation: true,
        maxDetected: 20,
        minConfidence: MIN_CONFIDENCE,
        iouThreshold: 0.2,
        minSize: 0,
      },
      mesh: { enabled: true, modelPath: 'facemesh.json' },
      iris: { enabled: false },
      description: { enabled: false },
      emotion: { enabled: false },
      antispoof: { enabled: false },
      liveness: { enabled: false },
    },
    body: { enabled: false },
    hand: { enabled: false },
    object: { enabled: false },
    gesture: { enabled: false },
    segmentation: { enabled: false },
  });
  // TensorFlow.js without its native binding cannot read files: the models are read here.
  human.tf.io.registerLoadRouter((url) =>
    typeof url === 'string' && url.startsWith('file://') ? { load: () => fromDisk(url.slice('file://'.length)) } : null,
  );
  await human.load();
  // What loading left behind goes back to the system (about 15 MB of the process's RSS on Node 24).
  giveBackMemory();
  return human;
}

let loaded: Promise<HumanInstance> | undefined;
let primed: Promise<unknown> | undefined;

/**
 * The first detection sets up the WebAssembly backend and its kernels (about 140 ms here, and
 * 13 MB of the thread's memory): done on a blank picture when the models load, so the check that
 * follows is timed alone.
 */
function prime(human: HumanInstance): Promise<unknown> {
  primed ??= (async () => {
    const blank = human.tf.tensor4d(new Uint8Array(64 * 64 * 3), [1, 64, 64, 3], 'int32');
    try {
      await human.detect(blank);
    } finally {
      blank.dispose();
    }
  })();
  return primed;
}

/** Loads the models and runs the first detection (see prime()). */
export interface WarmTask {
  warm: true;
}

/** RGB pixels, 3 bytes each, row by row. */
export interface Rgb {
  data: Uint8Array;
  width: number;
  height: number;
}

/**
 * The analysis copy (faces are given and measured in its pixels) and, when smaller, the
 * detector's, as RGB rows one after the other in `pixels`: memory shared with the server's thread,
 * which keeps it between checks (see faces.ts).
 */
export interface FaceTask {
  pixels: SharedArrayBuffer;
  width: number;
  height: number;
  detector?: { width: number; height: number };
}

/**
 * A face's box: the bounds of its mesh (brow to chin, cheek to cheek), which fits the face; the
 * detector's own box is the larger square the mesh model was given.
 */
function outline({ box: [x, y, width, height], mesh }: HumanFace) {
  if (mesh.length === 0) return { x, y, width, height };
  let left = Infinity;
  let top = Infinity;
  let right = -Infinity;
  let bottom = -Infinity;
  for (const [px, py] of mesh) {
    left = Math.min(left, px);
    top = Math.min(top, py);
    right = Math.max(right, px);
    bottom = Math.max(bottom, py);
  }
  return { x: left, y: top, width: right - left, height: bottom - top };
}

let int32: Int32Array | undefined;

/**
 * The detector's pixels as TensorFlow.js takes them (int32; it has no 8-bit type), in an array kept
 * between checks: made from 8-bit pixels it allocated a new one each time (2.8 MB for a 480 px
 * square), and fresh memory costs a page fault per 4 KB on its first touch. The tensor copies
 * them into the WebAssembly memory, so the array is free again once the tensor is made.
 */
function detectorInput(pixels: Uint8Array): Int32Array {
  if (!int32 || int32.length < pixels.length) int32 = new Int32Array(pixels.length);
  const input = int32.subarray(0, pixels.length);
  input.set(pixels);
  return input;
}

/** The faces in the pixels (largest first), and the measures the hints are decided from. */
export default async function detect(task: FaceTask | WarmTask) {
  loaded ??= load();
  const human = await loaded;
  if ('warm' in task) {
    await prime(human);
    return null;
  }
  const { width, height } = task;
  const data = new Uint8Array(task.pixels, 0, width * height * 3);
  const detector = task.detector
    ? { ...task.detector, data: new Uint8Array(task.pixels, data.length, task.detector.width * task.detector.height * 3) }
    : { data, width, height };
  const tensor = human.tf.tensor4d(detectorInput(detector.data), [1, detector.height, detector.width, 3], 'int32');
  // From the detector's pixels to the analysis copy's.
  const scale = width / detector.width;
  let faces;
  try {
    const result = await human.detect(tensor);
    if (result.error) throw new Error(result.error);
    faces = result.face
      .map((face) => {
        const box = outline(face);
        return { x: box.x * scale, y: box.y * scale, width: box.width * scale, height: box.height * scale, score: face.score };
      })
      .sort((a, b) => b.width * b.height - a.width * a.height);
  } finally {
    tensor.dispose();
  }
  return { faces, measures: measurePixels(data, width, height, faces[0]) };
}
