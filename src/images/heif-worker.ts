// Runs in a worker thread (see heif.ts): HEVC is decoded by libheif compiled to WebAssembly, so a
// 12 MP photo's half second of decoding never blocks the event loop.
import decode from 'heic-decode';
import { move, transferableSymbol, valueSymbol } from 'piscina';

export default async function decodeHeif({ bytes, maxPixels }: { bytes: Uint8Array; maxPixels: number }) {
  const images = await decode.all({ buffer: bytes });
  try {
    const first = images[0];
    if (!first) throw new Error('no image in the file');
    // The caller checked the primary image's size from the header; the one decoded here is checked too.
    if (first.width * first.height > maxPixels) throw new Error(`image of ${first.width}x${first.height} is over the pixel limit`);
    const image = await first.decode();
    const value = { width: image.width, height: image.height, data: image.data };
    // The pixels' memory is handed to the caller, not copied.
    return move({ [transferableSymbol]: image.data.buffer, [valueSymbol]: value } as never);
  } finally {
    images.dispose();
  }
}
