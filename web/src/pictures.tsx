import { useMemo, useRef, useState } from 'preact/hooks';
import { thumbHashToDataURL } from 'thumbhash';
import { api, type Reply } from './api';
import { uprightExifSegment } from './exif';

/** What the API says about a stored picture (profile_picture_info, image_info, media_file_info). */
export type PictureInfo = NonNullable<Reply<'/api/profile/background/', 'get'>['profile']['profile_picture_info']>;

/** The server's default MAX_IMAGE_DIMENSION, used when its upload limits cannot be read. */
const DEFAULT_MAX_DIMENSION = 2048;

let maxDimension: Promise<number> | undefined;

/** The long edge the server stores pictures at (GET /api/upload-limits/, read once). */
function serverMaxDimension(): Promise<number> {
  maxDimension ??= api<Reply<'/api/upload-limits/', 'get'>>('/api/upload-limits/')
    .then((result) => (result.ok ? result.body.image_max_dimension : DEFAULT_MAX_DIMENSION))
    .catch(() => DEFAULT_MAX_DIMENSION);
  return maxDimension;
}

const placeholderUrl = (hash: string | null | undefined): string | undefined => {
  if (!hash) return undefined;
  try {
    return thumbHashToDataURL(Uint8Array.from(atob(hash), (c) => c.charCodeAt(0)));
  } catch {
    return undefined;
  }
};

/**
 * A stored picture at a fixed box (no layout shift): the ThumbHash paints first, then the browser
 * picks the variant its `srcset` and `sizes` call for (the master URL stays the fallback `src`).
 */
export function Picture(props: {
  src: string;
  info: PictureInfo | null | undefined;
  shape: 'avatar' | 'card';
  width: number;
  height: number;
  alt: string;
  id?: string;
  loading?: 'lazy' | 'eager';
  dataUploaded?: string;
}) {
  const { info, shape } = props;
  const [loaded, setLoaded] = useState(false);
  const placeholder = useMemo(() => placeholderUrl(info?.placeholder), [info?.placeholder]);
  const srcset = info?.srcset[shape] ?? undefined;
  return (
    <img
      id={props.id}
      class="picture-img"
      src={props.src}
      srcset={srcset}
      sizes={srcset ? `${props.width}px` : undefined}
      alt={props.alt}
      width={props.width}
      height={props.height}
      loading={props.loading ?? 'lazy'}
      decoding="async"
      data-uploaded={props.dataUploaded}
      data-placeholder={placeholder ? 'thumbhash' : undefined}
      style={placeholder && !loaded ? { backgroundImage: `url(${placeholder})`, backgroundSize: 'cover' } : undefined}
      onLoad={() => setLoaded(true)}
    />
  );
}

/**
 * Shrinks a photo before upload, as the server would: orientation applied, long edge at most the
 * server's MAX_IMAGE_DIMENSION, JPEG (WebP when the file may be transparent), a JPEG's EXIF kept
 * (its orientation then "as stored"). A file the browser cannot decode (HEIC in Chromium), or one
 * already small enough, goes as it is.
 */
export async function shrinkForUpload(file: File): Promise<File> {
  if (!file.type.startsWith('image/') || file.type === 'image/gif' || typeof createImageBitmap !== 'function') return file;
  const maxDimension = await serverMaxDimension();
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(file, { imageOrientation: 'from-image' });
  } catch {
    return file;
  }
  try {
    const scale = Math.min(1, maxDimension / Math.max(bitmap.width, bitmap.height));
    if (scale === 1 && file.size < 1024 * 1024) return file;
    const width = Math.round(bitmap.width * scale);
    const height = Math.round(bitmap.height * scale);
    const canvas = document.createElement('canvas');
    canvas.width = width;
    canvas.height = height;
    const context = canvas.getContext('2d');
    if (!context) return file;
    context.imageSmoothingQuality = 'high';
    context.drawImage(bitmap, 0, 0, width, height);
    const type = file.type === 'image/png' || file.type === 'image/webp' ? 'image/webp' : 'image/jpeg';
    const blob = await new Promise<Blob | null>((resolve) => canvas.toBlob(resolve, type, 0.88));
    if (!blob) return file;
    // A camera JPEG's EXIF (capture date, camera) goes along, upright; it sits in the first 64 kB or so.
    const exif =
      type === 'image/jpeg' && file.type === 'image/jpeg' ? uprightExifSegment(await file.slice(0, 256 * 1024).arrayBuffer()) : undefined;
    const parts: BlobPart[] = exif ? [blob.slice(0, 2), exif, blob.slice(2)] : [blob];
    if (blob.size + (exif?.length ?? 0) >= file.size) return file;
    const name = file.name.replace(/\.[^.]*$/, '') + (type === 'image/webp' ? '.webp' : '.jpg');
    return new File(parts, name, { type });
  } finally {
    bitmap.close();
  }
}

/** A hint about a photo: a stable code (the API's) and words for it. */
export interface PictureHint {
  code: string;
  message: string;
}

/**
 * The checks the page can make the moment a file is chosen, before it is sent (the server makes
 * them again, with the face checks): resolution, orientation and colour. A file the browser cannot
 * decode (HEIC in Chromium) gets none here.
 */
export async function quickChecks(file: File): Promise<PictureHint[]> {
  if (typeof createImageBitmap !== 'function') return [];
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(file, { imageOrientation: 'from-image' });
  } catch {
    return [];
  }
  try {
    const hints: PictureHint[] = [];
    if (Math.min(bitmap.width, bitmap.height) < 500) {
      hints.push({
        code: 'low_resolution',
        message: `This photo is ${bitmap.width} × ${bitmap.height} pixels; casting sites ask for at least 500 × 500.`,
      });
    }
    if (bitmap.width > bitmap.height)
      hints.push({ code: 'landscape', message: 'This photo is landscape; headshots are portrait (taller than wide).' });
    const canvas = document.createElement('canvas');
    canvas.width = 48;
    canvas.height = 48;
    const context = canvas.getContext('2d', { willReadFrequently: true });
    if (context) {
      context.drawImage(bitmap, 0, 0, 48, 48);
      const { data } = context.getImageData(0, 0, 48, 48);
      let spread = 0;
      for (let i = 0; i < data.length; i += 4)
        spread += Math.max(data[i]!, data[i + 1]!, data[i + 2]!) - Math.min(data[i]!, data[i + 1]!, data[i + 2]!);
      if (spread / (48 * 48) < 6)
        hints.push({ code: 'black_and_white', message: 'This photo is black-and-white; casting asks for colour photos.' });
    }
    return hints;
  } finally {
    bitmap.close();
  }
}

/** "taken 8 months ago" from an ISO date, or null. */
export function takenAgo(iso: string | null | undefined, now = Date.now()): string | null {
  if (!iso) return null;
  const days = Math.floor((now - Date.parse(iso)) / 86_400_000);
  if (!Number.isFinite(days) || days < 0) return null;
  if (days < 1) return 'taken today';
  if (days < 31) return `taken ${days} day${days === 1 ? '' : 's'} ago`;
  const months = Math.floor(days / 30.44);
  if (months < 12) return `taken ${months} month${months === 1 ? '' : 's'} ago`;
  const years = Math.floor(months / 12);
  return `taken ${years} year${years === 1 ? '' : 's'} ago`;
}

export interface FrameRect {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** The 4:5 frame the editor starts from: the focus's, or the largest one, in the picture's pixels. */
function initialFrame(info: PictureInfo): FrameRect {
  const { width: W, height: H } = info;
  const focus = info.focus;
  let height = Math.min(H, W * 1.25);
  if (focus && focus.width > 0)
    height = Math.min(height, Math.max(focus.height / (focus.source === 'user' ? 1 : 0.36), focus.width * 1.25));
  const width = height * 0.8;
  const cx = focus ? focus.x + focus.width / 2 : W / 2;
  const cy = focus ? focus.y + focus.height / 2 : H / 2;
  return clampFrame({ x: cx - width / 2, y: cy - height * (focus?.source === 'face' ? 0.38 : 0.5), width, height }, W, H);
}

function clampFrame(frame: FrameRect, W: number, H: number): FrameRect {
  const width = Math.min(frame.width, W);
  const height = Math.min(frame.height, H);
  return {
    x: Math.round(Math.max(0, Math.min(W - width, frame.x))),
    y: Math.round(Math.max(0, Math.min(H - height, frame.y))),
    width: Math.round(width),
    height: Math.round(height),
  };
}

/**
 * Drag the 4:5 frame over the picture (and size it with the slider) to choose what the avatar and
 * card variants show; saving sends it as the picture's focus (PUT …/picture-focus/).
 */
export function FrameEditor(props: {
  src: string;
  info: PictureInfo;
  onSave: (frame: FrameRect) => Promise<void>;
  onReset: () => Promise<void>;
  onClose: () => void;
}) {
  const { info } = props;
  const [frame, setFrame] = useState<FrameRect>(() => initialFrame(info));
  const [busy, setBusy] = useState(false);
  const drag = useRef<{ startX: number; startY: number; from: FrameRect; scale: number } | null>(null);
  const box = useRef<HTMLDivElement>(null);
  const maxHeight = Math.min(info.height, info.width * 1.25);
  const pct = (value: number, of: number) => `${(100 * value) / of}%`;
  const resize = (height: number) =>
    setFrame((current) => {
      const cx = current.x + current.width / 2;
      const cy = current.y + current.height / 2;
      return clampFrame({ x: cx - (height * 0.8) / 2, y: cy - height / 2, width: height * 0.8, height }, info.width, info.height);
    });
  const run = async (action: () => Promise<void>) => {
    setBusy(true);
    try {
      await action();
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="frame-editor" role="group" aria-label="Frame your picture">
      <div class="frame-stage" ref={box}>
        <img src={props.src} alt="Your picture, to frame" draggable={false} />
        <div
          id="picture-frame"
          class="frame-box"
          style={{
            left: pct(frame.x, info.width),
            top: pct(frame.y, info.height),
            width: pct(frame.width, info.width),
            height: pct(frame.height, info.height),
          }}
          onPointerDown={(event) => {
            const stage = box.current?.getBoundingClientRect();
            if (!stage) return;
            (event.currentTarget as HTMLElement).setPointerCapture(event.pointerId);
            drag.current = { startX: event.clientX, startY: event.clientY, from: frame, scale: info.width / stage.width };
          }}
          onPointerMove={(event) => {
            const start = drag.current;
            if (!start) return;
            const dx = (event.clientX - start.startX) * start.scale;
            const dy = (event.clientY - start.startY) * start.scale;
            setFrame(clampFrame({ ...start.from, x: start.from.x + dx, y: start.from.y + dy }, info.width, info.height));
          }}
          onPointerUp={() => {
            drag.current = null;
          }}
        />
      </div>
      <label class="frame-size">
        Frame size
        <input
          id="frame-size"
          type="range"
          min={Math.round(Math.min(maxHeight, 400))}
          max={Math.round(maxHeight)}
          value={frame.height}
          onInput={(event) => resize(Number(event.currentTarget.value))}
        />
      </label>
      <div class="frame-actions">
        <button type="button" id="frame-save" disabled={busy} onClick={() => run(() => props.onSave(frame))}>
          Save frame
        </button>
        <button type="button" class="secondary" disabled={busy} onClick={() => run(props.onReset)}>
          Frame my face again
        </button>
        <button type="button" class="secondary" disabled={busy} onClick={props.onClose}>
          Cancel
        </button>
      </div>
    </div>
  );
}
