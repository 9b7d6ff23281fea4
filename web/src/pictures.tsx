import { useMemo, useState } from 'preact/hooks';
import { thumbHashToDataURL } from 'thumbhash';
import { api, type Reply } from './api';

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
 * server's MAX_IMAGE_DIMENSION, JPEG (WebP when the file may be transparent). A file the browser
 * cannot decode (HEIC in Chromium), or one already small enough, goes as it is.
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
    if (!blob || blob.size >= file.size) return file;
    const name = file.name.replace(/\.[^.]*$/, '') + (type === 'image/webp' ? '.webp' : '.jpg');
    return new File([blob], name, { type });
  } finally {
    bitmap.close();
  }
}
