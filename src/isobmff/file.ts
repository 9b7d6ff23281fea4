// The boxes of an ISO base media file (MP4, MOV, HEIF, AVIF) on disk or in memory, walked a chunk
// at a time: the header reads of heif.ts (where `meta` lies) and video/mov-boxes.ts (the movie's
// tables) walk files with it, so a file of many small boxes costs its size, never one read a box.
import { open, type FileHandle } from 'node:fs/promises';

/** Bytes read at a time: a run of small boxes is read once, not once a box. */
export const CHUNK = 256 * 1024;

/** The walk gives way to other work every this many boxes. */
const BOXES_BETWEEN_TURNS = 65_536;

/** A box of a file. */
export interface FileBox {
  type: string;
  /** Where the box's header starts, where its payload starts, and where it ends (cut at its parent's end). */
  start: number;
  payload: number;
  end: number;
  /** The box declares more bytes than its parent (or the file) holds: it was cut at `end`. */
  cut: boolean;
}

/** A file's bytes, from disk a chunk at a time; bytes inside the chunk last read cost no read. */
export class BoxFile {
  /** Boxes walked in this file since the walk last gave way to other work (every BOXES_BETWEEN_TURNS). */
  boxesWalked = 0;
  private chunk: Buffer;
  private start = 0;
  private length: number;

  private constructor(
    private readonly handle: FileHandle | undefined,
    bytes: Buffer | undefined,
    readonly size: number,
  ) {
    // In memory the whole file is the chunk held, and no read ever happens.
    this.chunk = bytes ?? Buffer.allocUnsafe(CHUNK);
    this.length = bytes ? size : 0;
  }

  /** The file at `input` (a path), or `input`'s bytes; close it when done. */
  static async open(input: Buffer | string): Promise<BoxFile> {
    if (Buffer.isBuffer(input)) return new BoxFile(undefined, input, input.length);
    const handle = await open(input, 'r');
    try {
      return new BoxFile(handle, undefined, (await handle.stat()).size);
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  /** `length` bytes from `at` if the chunk held covers them (no read, no wait). */
  peek(at: number, length: number): Buffer | undefined {
    if (at < this.start || at + length > this.start + this.length) return undefined;
    return this.chunk.subarray(at - this.start, at - this.start + length);
  }

  /** Reads the chunk from `at`: `length` bytes (from disk at most CHUNK), or fewer where the file ends. */
  async load(at: number, length: number): Promise<Buffer> {
    if (!this.handle) return this.chunk.subarray(Math.min(at, this.size), Math.min(at + length, this.size));
    const { bytesRead } = await this.handle.read(this.chunk, 0, CHUNK, at);
    this.start = at;
    this.length = bytesRead;
    return this.chunk.subarray(0, Math.min(length, bytesRead));
  }

  /** `length` bytes from `at` (fewer where the file ends) in a buffer that stays the caller's. */
  async read(at: number, length: number): Promise<Buffer> {
    const held = this.peek(at, length);
    if (held || !this.handle) return Buffer.from(held ?? this.chunk.subarray(Math.min(at, this.size), Math.min(at + length, this.size)));
    const wanted = Math.max(0, Math.min(length, this.size - at));
    const bytes = Buffer.alloc(wanted);
    let filled = 0;
    while (filled < wanted) {
      const { bytesRead } = await this.handle.read(bytes, filled, wanted - filled, at + filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return bytes.subarray(0, filled);
  }

  async close(): Promise<void> {
    await this.handle?.close();
  }
}

/** Boxes handed over at a time: few enough that they die young (a batch of 65 536 doubled the walk's cost in garbage collection). */
const BATCH = 1024;

/**
 * The boxes between `start` and `end`, 64-bit sizes included, in batches of boxes whose headers
 * the chunk held covers, so a run of small boxes costs one wait a batch, not one a box. A box that
 * runs past `end` is cut there (`cut`), one of size 0 runs to `end`, and one whose size is smaller
 * than its header ends the walk (damage: nothing after it can be found).
 */
export async function* boxesIn(file: BoxFile, start: number, end: number): AsyncGenerator<FileBox[]> {
  for (let at = start; at + 8 <= end;) {
    const batch: FileBox[] = [];
    let header: Buffer | undefined = file.peek(at, Math.min(16, end - at)) ?? (await file.load(at, Math.min(16, end - at)));
    while (header) {
      const box = boxAt(header, at, end);
      if (!box) {
        if (batch.length > 0) yield batch;
        return;
      }
      batch.push(box);
      at = box.end;
      if (at + 8 > end || batch.length === BATCH) break;
      header = file.peek(at, Math.min(16, end - at));
    }
    yield batch;
    file.boxesWalked += batch.length;
    if (file.boxesWalked >= BOXES_BETWEEN_TURNS) {
      file.boxesWalked = 0;
      await new Promise(setImmediate);
    }
  }
}

/** The box whose header `header` (up to 16 bytes from `at`) holds; undefined where it is damage. */
function boxAt(header: Buffer, at: number, end: number): FileBox | undefined {
  if (header.length < 8) return undefined;
  let size = header.readUInt32BE(0);
  let payload = at + 8;
  if (size === 1) {
    if (header.length < 16) return undefined;
    size = Number(header.readBigUInt64BE(8));
    payload = at + 16;
  } else if (size === 0) size = end - at;
  if (size < payload - at) return undefined;
  return { type: header.toString('latin1', 4, 8), start: at, payload, end: Math.min(at + size, end), cut: at + size > end };
}
