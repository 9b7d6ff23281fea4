import { useMemo, useState } from 'preact/hooks';
import { thumbHashToDataURL } from 'thumbhash';
import type { Reply } from './api';

/** What the API says about a stored picture (profile_picture_info, image_info, media_file_info). */
export type PictureInfo = NonNullable<Reply<'/api/profile/background/', 'get'>['profile']['profile_picture_info']>;

/** The server's default MAX_IMAGE_DIMENSION: photos are shrunk to it before they leave the browser. */
export const MAX_UPLOAD_DIMENSION = 2048;

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
 * Shrinks a photo before upload, as the server would: orientation applied, long edge at most
 * MAX_UPLOAD_DIMENSION, JPEG (WebP when the file may be transparent). A file the browser cannot
 * decode (HEIC in Chromium), or one already small enough, goes as it is.
 */
export async function shrinkForUpload(file: File, maxDimension = MAX_UPLOAD_DIMENSION): Promise<File> {
  if (!file.type.startsWith('image/') || file.type === 'image/gif' || typeof createImageBitmap !== 'function') return file;
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
