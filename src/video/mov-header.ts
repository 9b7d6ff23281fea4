import { open } from 'node:fs/promises';

/**
 * What opens a compressed QuickTime movie header: a `cmov` box holding `dcom` (its compressor,
 * `zlib`) then `cmvd`. ffmpeg allocates the size `cmvd` declares (up to 2 GB) and inflates into
 * it: a 1.46 MB MOV declaring 1.5 GB took ffprobe to 1.5 GB and 10 s before anything else was read.
 * QuickTime wrote such headers in the 1990s; no camera or phone does.
 */
const COMPRESSED_HEADER = Buffer.from('dcomzlib', 'latin1');

/** Top-level boxes ffmpeg never parses inside: the media data and padding. */
const UNPARSED = new Set(['mdat', 'free', 'skip', 'wide']);

/**
 * Whether an ISO BMFF file (MP4, MOV) carries a compressed movie header anywhere ffmpeg would
 * parse it: every top-level box but the media data and padding is read, a chunk at a time.
 */
export async function hasCompressedMovieHeader(path: string): Promise<boolean> {
  const handle = await open(path, 'r');
  try {
    const { size: fileSize } = await handle.stat();
    const header = Buffer.alloc(16);
    const chunk = Buffer.allocUnsafe(256 * 1024);
    const overlap = COMPRESSED_HEADER.length - 1;
    for (let at = 0; at + 8 <= fileSize;) {
      const { bytesRead } = await handle.read(header, 0, 16, at);
      if (bytesRead < 8) break;
      let size = header.readUInt32BE(0);
      const type = header.toString('latin1', 4, 8);
      if (size === 1) {
        if (bytesRead < 16) break;
        size = Number(header.readBigUInt64BE(8));
      } else if (size === 0) size = fileSize - at;
      if (size < 8) break;
      const end = Math.min(at + size, fileSize);
      if (!UNPARSED.has(type)) {
        // The box read in chunks that overlap by the signature's length less one, so none is split.
        for (let from = at; from < end; from += chunk.length - overlap) {
          const { bytesRead: read } = await handle.read(chunk, 0, Math.min(chunk.length, end - from), from);
          if (chunk.subarray(0, read).includes(COMPRESSED_HEADER)) return true;
          if (from + read >= end) break;
        }
      }
      at += size;
    }
    return false;
  } finally {
    await handle.close();
  }
}
