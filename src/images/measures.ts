/** What the hints are decided from, measured on the analysis copy (RGB, at most 640 px long). */
export interface PictureMeasures {
  /** Mean luminance (0–255) of the face, or of the whole picture when there is none. */
  luminance: number;
  /** Share of the face's (or the picture's) pixels that are blown out (luminance ≥ 250). */
  blownOut: number;
  /** Mean colourfulness of the whole picture: the spread between a pixel's strongest and weakest channel (0 in greyscale). */
  chroma: number;
  /**
   * Detail of the face (scaled to 128 px tall), or of the whole picture: the variance of its
   * Laplacian over the variance of its luminance, so that a dark or low-contrast photo is not
   * taken for a blurry one. Low is blurry.
   */
  sharpness: number;
}

export interface Region {
  x: number;
  y: number;
  width: number;
  height: number;
}

const luma = (data: Uint8Array, i: number) => 0.299 * data[i]! + 0.587 * data[i + 1]! + 0.114 * data[i + 2]!;

/** Luminance, clipping, colourfulness and sharpness of RGB pixels; `focus` (a face) narrows all but colourfulness. */
export function measurePixels(data: Uint8Array, width: number, height: number, focus?: Region): PictureMeasures {
  let chroma = 0;
  const pixels = width * height;
  for (let i = 0; i < pixels * 3; i += 3) {
    const r = data[i]!;
    const g = data[i + 1]!;
    const b = data[i + 2]!;
    chroma += Math.max(r, g, b) - Math.min(r, g, b);
  }
  const region = clampRegion(focus ?? { x: 0, y: 0, width, height }, width, height);
  let sum = 0;
  let blown = 0;
  for (let y = region.y; y < region.y + region.height; y++) {
    for (let x = region.x; x < region.x + region.width; x++) {
      const value = luma(data, (y * width + x) * 3);
      sum += value;
      if (value >= 250) blown++;
    }
  }
  const area = region.width * region.height;
  return { luminance: sum / area, blownOut: blown / area, chroma: chroma / pixels, sharpness: detail(data, width, region) };
}

function clampRegion(region: Region, width: number, height: number): Region {
  const x = Math.max(0, Math.min(width - 1, Math.floor(region.x)));
  const y = Math.max(0, Math.min(height - 1, Math.floor(region.y)));
  return {
    x,
    y,
    width: Math.max(1, Math.min(width - x, Math.ceil(region.width))),
    height: Math.max(1, Math.min(height - y, Math.ceil(region.height))),
  };
}

/**
 * The variance of the 4-neighbour Laplacian over the variance of the luminance, on a grid that
 * makes the region about 128 px tall (a face far from the camera and one filling the frame are
 * judged at the same scale: box-averaged down, never up).
 */
function detail(data: Uint8Array, width: number, region: Region): number {
  const step = Math.max(1, Math.round(region.height / 128));
  const w = Math.floor(region.width / step);
  const h = Math.floor(region.height / step);
  if (w < 3 || h < 3) return 0;
  const grey = new Float64Array(w * h);
  let sum = 0;
  let squares = 0;
  for (let gy = 0; gy < h; gy++) {
    for (let gx = 0; gx < w; gx++) {
      let cell = 0;
      for (let dy = 0; dy < step; dy++) {
        const row = (region.y + gy * step + dy) * width;
        for (let dx = 0; dx < step; dx++) cell += luma(data, (row + region.x + gx * step + dx) * 3);
      }
      const value = cell / (step * step);
      grey[gy * w + gx] = value;
      sum += value;
      squares += value * value;
    }
  }
  const greyVariance = squares / (w * h) - (sum / (w * h)) ** 2;
  let lapSum = 0;
  let lapSquares = 0;
  let n = 0;
  for (let y = 1; y < h - 1; y++) {
    for (let x = 1; x < w - 1; x++) {
      const i = y * w + x;
      const value = grey[i - 1]! + grey[i + 1]! + grey[i - w]! + grey[i + w]! - 4 * grey[i]!;
      lapSum += value;
      lapSquares += value * value;
      n++;
    }
  }
  const lapVariance = lapSquares / n - (lapSum / n) ** 2;
  // +4: a flat region (no luminance variance) has no detail to judge and reads as blurry.
  return lapVariance / (greyVariance + 4);
}
