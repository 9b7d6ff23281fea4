import sharp from 'sharp';

/** Whether bytes decode as an image of some size (the header is read, not every pixel). */
export async function isReadableImage(bytes: Buffer, maxPixels: number): Promise<boolean> {
  try {
    const meta = await sharp(bytes, { limitInputPixels: maxPixels, failOn: 'error' }).metadata();
    return Boolean(meta.width && meta.height && meta.width * meta.height <= maxPixels);
  } catch {
    return false;
  }
}
