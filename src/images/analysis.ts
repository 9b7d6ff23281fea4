import type { FaceBox } from './faces.js';
import type { PictureMeasures } from './measures.js';

/** Where the variants are framed: a face (found, or set by the performer), in the master's pixels. */
export interface PictureFocus {
  x: number;
  y: number;
  width: number;
  height: number;
  source: 'face' | 'user';
}

/** Why a photo may not get a performer cast: advisory, never a reason to refuse an upload. */
export const HINTS = {
  face_check_skipped: 'The face and photo-quality checks could not run for this photo; the other checks did.',
  no_face: 'No face was found. Casting directors look for a clear, front-facing headshot.',
  multiple_faces: 'More than one face is in this photo. Use a photo of you alone.',
  face_too_small: 'Your face is small in the frame. Crop closer: head and shoulders should fill most of it.',
  face_cut_off: 'Your face touches the edge of the photo. Leave some space around your head.',
  blurry: 'The photo looks blurry. Use a sharp, in-focus photo.',
  too_dark: 'The photo is too dark. Retake it in even, brighter light.',
  overexposed: 'The photo is overexposed. Avoid direct flash and strong backlight.',
  black_and_white: 'The photo is black-and-white. Casting asks for colour photos.',
  low_resolution: 'The photo is smaller than 500 × 500 pixels. Upload a larger original.',
  landscape: 'The photo is landscape. Headshots are portrait: taller than wide.',
  screenshot: 'This looks like a screenshot. Upload the original photo instead.',
} as const;
export type HintCode = keyof typeof HINTS;

/** What the picture's analysis keeps (JSON in `pictures.analysis`). */
export interface PictureAnalysis {
  /** Faces in the master's pixels, largest first; null when the check could not run. */
  faces: FaceBox[] | null;
  focus: PictureFocus | null;
  hints: HintCode[];
  /** When the photo was taken (EXIF DateTimeOriginal), the only metadata kept. */
  capturedAt: string | null;
}

/** What is known of the upload before its metadata is dropped. */
export interface UploadFacts {
  /** The upload's size, orientation applied. */
  width: number;
  height: number;
  /** EXIF names a camera (Make or Model). */
  camera: boolean;
  capturedAt: string | undefined;
}

// Frames of phone and computer screens (either orientation), for the screenshot hint.
const SCREENS = new Set(
  [
    [640, 1136],
    [750, 1334],
    [828, 1792],
    [1080, 1920],
    [1125, 2436],
    [1170, 2532],
    [1179, 2556],
    [1242, 2208],
    [1242, 2688],
    [1284, 2778],
    [1290, 2796],
    [1320, 2868],
    [1206, 2622],
    [720, 1280],
    [720, 1600],
    [1080, 2340],
    [1080, 2400],
    [1080, 2408],
    [1440, 3040],
    [1440, 3088],
    [1440, 3120],
    [1440, 3200],
    [1536, 2048],
    [1620, 2160],
    [1640, 2360],
    [1668, 2388],
    [2048, 2732],
    [1280, 720],
    [1280, 800],
    [1366, 768],
    [1440, 900],
    [1536, 864],
    [1600, 900],
    [1680, 1050],
    [1920, 1200],
    [2560, 1440],
    [2560, 1600],
    [2880, 1800],
    [3024, 1964],
    [3456, 2234],
    [3840, 2160],
    [2736, 1824],
    [2256, 1504],
    [3000, 2000],
  ].flatMap(([a, b]) => [`${a}x${b}`, `${b}x${a}`]),
);

/** Thresholds, on the measures of the analysis copy (see measures.ts). */
const LIMITS = {
  minSide: 500,
  /** The largest face under this share of the picture's height is too small for a thumbnail. */
  minFaceShare: 0.12,
  /** A face box this close to an edge (share of the side) is cut off. */
  edgeMargin: 0.005,
  /** Mean luminance of the face (or picture) under this is too dark, over `bright` overexposed. */
  dark: 40,
  bright: 215,
  /** Share of the face (or picture) blown out to white beyond which it is overexposed. */
  blownOut: 0.25,
  /** Mean channel spread under this is greyscale (a sepia or toned print keeps its tint). */
  colourless: 6,
  /**
   * Detail of the face at 128 px (see measures.ts) under this is out of focus. Sharp faces of the
   * labelled set measure 0.016 and up; a sharp headshot blurred by a Gaussian of σ 2.5 px, 0.008.
   */
  blurry: 0.01,
};

/**
 * The picture's hints and its focus, from its faces and measures (`found`, in the analysis copy's
 * pixels, `scale` from there to the master's) and what the upload itself said.
 */
export function analysePicture(
  found: { faces: FaceBox[]; measures: PictureMeasures } | undefined,
  scale: number,
  master: { width: number; height: number },
  upload: UploadFacts,
): PictureAnalysis {
  const hints: HintCode[] = [];
  const faces = found?.faces.map((face) => toMaster(face, scale, master)) ?? null;
  if (!found || !faces) hints.push('face_check_skipped');
  else {
    const { measures } = found;
    const face = faces[0];
    if (!face) hints.push('no_face');
    if (faces.length > 1) hints.push('multiple_faces');
    if (face && face.height < master.height * LIMITS.minFaceShare) hints.push('face_too_small');
    if (face && touchesEdge(face, master)) hints.push('face_cut_off');
    if (measures.sharpness < LIMITS.blurry) hints.push('blurry');
    if (measures.luminance < LIMITS.dark) hints.push('too_dark');
    else if (measures.luminance > LIMITS.bright || measures.blownOut > LIMITS.blownOut) hints.push('overexposed');
    if (measures.chroma < LIMITS.colourless) hints.push('black_and_white');
  }
  if (Math.min(upload.width, upload.height) < LIMITS.minSide) hints.push('low_resolution');
  if (upload.width > upload.height) hints.push('landscape');
  if (!upload.camera && SCREENS.has(`${upload.width}x${upload.height}`)) hints.push('screenshot');
  const face = faces?.[0];
  return {
    faces,
    focus: face ? { x: face.x, y: face.y, width: face.width, height: face.height, source: 'face' } : null,
    hints,
    capturedAt: upload.capturedAt ?? null,
  };
}

/** A face box in the master's pixels, clipped to the picture, rounded. */
function toMaster(face: FaceBox, scale: number, master: { width: number; height: number }): FaceBox {
  const x = Math.max(0, Math.round(face.x * scale));
  const y = Math.max(0, Math.round(face.y * scale));
  return {
    x,
    y,
    width: Math.max(1, Math.min(master.width - x, Math.round((face.x + face.width) * scale) - x)),
    height: Math.max(1, Math.min(master.height - y, Math.round((face.y + face.height) * scale) - y)),
    score: Math.round(face.score * 100) / 100,
  };
}

function touchesEdge(face: FaceBox, master: { width: number; height: number }): boolean {
  const dx = master.width * LIMITS.edgeMargin;
  const dy = master.height * LIMITS.edgeMargin;
  return face.x <= dx || face.y <= dy || face.x + face.width >= master.width - dx || face.y + face.height >= master.height - dy;
}

export interface Frame {
  left: number;
  top: number;
  width: number;
  height: number;
}

/**
 * The part of the master a variant shows when framed around `focus`: the face takes about half an
 * avatar's height and a third of a card's, with headroom above it (its centre 45 % / 38 % down),
 * never smaller than the variant itself, and moved as little as needed to stay inside the picture
 * while keeping the whole face box in. A point focus centres the largest frame the picture holds;
 * a rectangle the performer set is shown whole, as tightly as the variant's shape allows.
 */
export function frameAround(
  focus: { x: number; y: number; width: number; height: number; source?: PictureFocus['source'] },
  variant: { shape: 'avatar' | 'card'; width: number; height: number },
  master: { width: number; height: number },
): Frame {
  const aspect = variant.width / variant.height;
  const avatar = variant.shape === 'avatar';
  // A point (a frame of no size) is the centre of the largest frame the picture holds; a rectangle
  // the performer drew is what they want shown (the smallest frame of the variant's shape around it).
  const point = focus.width === 0 && focus.height === 0;
  const drawn = !point && focus.source === 'user';
  const share = drawn ? 1 : avatar ? 0.5 : 0.36;
  let height = point
    ? Math.min(master.height, master.width / aspect)
    : Math.max(focus.height / share, variant.height, focus.width / aspect);
  let width = height * aspect;
  if (width > master.width) {
    width = master.width;
    height = width / aspect;
  }
  if (height > master.height) {
    height = master.height;
    width = height * aspect;
  }
  const centreX = focus.x + focus.width / 2;
  const centreY = focus.y + focus.height / 2;
  let left = clamp(centreX - width / 2, focus.x + focus.width - width, focus.x);
  let top = clamp(centreY - height * (point || drawn ? 0.5 : avatar ? 0.45 : 0.38), focus.y + focus.height - height, focus.y);
  left = clamp(left, 0, master.width - width);
  top = clamp(top, 0, master.height - height);
  const frame = { left: Math.round(left), top: Math.round(top), width: Math.round(width), height: Math.round(height) };
  frame.width = Math.min(frame.width, master.width - frame.left);
  frame.height = Math.min(frame.height, master.height - frame.top);
  return frame;
}

/** `value` within [low, high]; when the range is empty (low > high), `low` wins. */
function clamp(value: number, low: number, high: number): number {
  return Math.max(low, Math.min(high, value));
}
