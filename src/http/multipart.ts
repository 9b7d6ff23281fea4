import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { chmod, mkdir, open, readdir, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { FastifyRequest } from 'fastify';
import { ApiError } from '../errors.js';
import { uploadGarbage } from './memory.js';
import { holdsNullCharacter, NULL_CHARACTERS } from '../validation.js';

const FORM_FIELD_MAX_BYTES = 64 * 1024;
const FORM_MAX_FIELDS = 50;
/** @fastify/multipart's limits: one file per request, a bounded number of small fields. */
export const FORM_LIMITS = {
  fieldNameSize: 100,
  fieldSize: FORM_FIELD_MAX_BYTES,
  fields: FORM_MAX_FIELDS,
  files: 1,
  parts: 60,
  headerPairs: 100,
};
/** Room for the text fields around the file in one multipart body. */
const FORM_OVERHEAD_BYTES = 1024 * 1024;

/**
 * A file of a multipart body: held in memory when the whole body was small enough to fit the
 * memory budget (UploadMemory), else streamed to a private temporary file as it arrived.
 */
export interface UploadedFile {
  /** The upload's bytes, or the path of the temporary file they were written to. */
  content: Buffer | string;
  bytes: number;
  /** The client's name: logged for support, never used to name anything. */
  filename: string;
}

/** Reads `length` bytes of an upload at `position` (negative: from the end). */
export async function readUploadSlice(file: Pick<UploadedFile, 'content' | 'bytes'>, position: number, length: number): Promise<Buffer> {
  const start = position < 0 ? Math.max(0, file.bytes + position) : position;
  const end = Math.min(file.bytes, start + length);
  if (Buffer.isBuffer(file.content)) return file.content.subarray(start, end);
  const handle = await open(file.content, 'r');
  try {
    const buffer = Buffer.alloc(Math.max(0, end - start));
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, start);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** An upload's bytes, from memory or read from its temporary file. */
export async function uploadBytes(file: Pick<UploadedFile, 'content'>): Promise<Buffer> {
  return Buffer.isBuffer(file.content) ? file.content : readFile(file.content);
}

/** Bodies up to this size are held in memory (within the budget): a photo the web page shrank fits. */
export const IN_MEMORY_UPLOAD_BYTES = 2 * 1024 * 1024;

/**
 * How many bytes of uploads this process holds in memory at once. A body whose Content-Length fits
 * what is left (and IN_MEMORY_UPLOAD_BYTES) is read into memory: no temporary file to create, write,
 * read back and remove. Any other body is streamed to disk, so memory stays bounded however many
 * uploads arrive at once.
 */
export class UploadMemory {
  #held = 0;

  constructor(readonly budgetBytes: number) {}

  /** Reserves room for a body of `bytes`; false when it does not fit. */
  reserve(bytes: number): boolean {
    if (bytes > IN_MEMORY_UPLOAD_BYTES || this.#held + bytes > this.budgetBytes) return false;
    this.#held += bytes;
    return true;
  }

  release(bytes: number): void {
    this.#held -= bytes;
  }

  get heldBytes(): number {
    return this.#held;
  }
}

/** What a multipart part says of its file. */
export interface DeclaredFile {
  mimeType: string;
  filename: string;
}

export interface FileField {
  maxBytes: number;
  /** The 413 message for a file over maxBytes. */
  tooLargeMessage: string;
  /** Called as a file for this field starts to arrive, with the type and name its part declares (a client's word, a hint only). */
  arriving?: (declared: DeclaredFile) => void;
}

export interface FormOptions {
  /** The fields that may carry a file, each at most once, with its size limit. */
  fileFields: Record<string, FileField>;
  tmpDir: string;
  /** Room for small bodies in memory; without it every file goes to a temporary file. */
  memory?: UploadMemory;
}

export interface ReceivedForm {
  /** JSON or urlencoded body as parsed, or the multipart text fields (repeats become arrays). */
  body: unknown;
  files: Record<string, UploadedFile>;
  /** Removes the temporary files; always call it (routes use withForm). */
  cleanup(): Promise<void>;
}

// The error handler reads the rest of the body before answering (drainBody) and closes the
// connection only when it could not.
const tooLarge = (field: string, message: string) => new ApiError(413, { [field]: [message] });

function tooLargeFor(options: FormOptions, field: string | undefined): ApiError {
  const name = field && Object.hasOwn(options.fileFields, field) ? field : (Object.keys(options.fileFields)[0] ?? 'file');
  return tooLarge(name, options.fileFields[name]?.tooLargeMessage ?? 'The file is too large.');
}

/** @fastify/multipart's and busboy's errors, in DRF's words (`tooLarge`: the 413 for a file over its limit). */
function multipartError(error: unknown, tooLarge: (field: string | undefined) => ApiError): unknown {
  if (error instanceof ApiError) return error;
  const e = error as { code?: string; message?: string; part?: { fieldname?: string } };
  switch (e.code) {
    case 'FST_REQ_FILE_TOO_LARGE':
      return tooLarge(e.part?.fieldname);
    case 'FST_FILES_LIMIT':
      return new ApiError(400, { detail: 'Only one file may be uploaded per request.' });
    case 'FST_FIELDS_LIMIT':
    case 'FST_PARTS_LIMIT':
      return new ApiError(400, { detail: `Too many form fields: at most ${FORM_MAX_FIELDS} are accepted.` });
    case 'FST_PROTO_VIOLATION':
      return new ApiError(400, { detail: 'Invalid form field name.' });
    case 'FST_INVALID_JSON_FIELD_ERROR':
      return new ApiError(400, { detail: 'A form field declared as JSON is not valid JSON.' });
    case 'ENOSPC':
    case 'EIO':
    case 'EMFILE':
      return new ApiError(
        503,
        { detail: 'The upload could not be received right now. Please try again shortly.' },
        { 'Retry-After': '10' },
      );
    default:
      return new ApiError(400, { detail: `Malformed multipart body: ${e.message ?? 'unreadable'}.` });
  }
}

const privateFolders = new Set<string>();

/** Uploads are private until checked: the folder is this process's user's alone (an existing one too). */
export async function privateUploadFolder(dir: string): Promise<void> {
  if (privateFolders.has(dir)) return;
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  privateFolders.add(dir);
}

/**
 * Reads a request body. Multipart files are streamed to a temporary file as they arrive, never
 * held whole in memory; the size limit is enforced while reading (413, never a silent cut).
 */
async function readForm(request: FastifyRequest, options: FormOptions): Promise<ReceivedForm> {
  // No body at all is no data; a JSON `null` is refused as DRF refuses it.
  if (!request.isMultipart()) return { body: request.body === undefined ? {} : request.body, files: {}, cleanup: async () => undefined };

  const limits = Object.values(options.fileFields);
  const maxFileBytes = Math.max(0, ...limits.map((l) => l.maxBytes));
  const declared = Number(request.headers['content-length']);
  const hardLimit = limits.reduce((sum, l) => sum + l.maxBytes, 0) + FORM_OVERHEAD_BYTES;
  if (Number.isFinite(declared) && declared > hardLimit) throw tooLargeFor(options, undefined);

  // A small body with a declared length is held in memory when the budget has room for it.
  const held = Number.isFinite(declared) && declared > 0 && options.memory?.reserve(declared) ? declared : 0;
  if (held === 0) await privateUploadFolder(options.tmpDir);
  // One temporary file per received file, straight in the upload folder: a folder per request
  // cost a mkdtemp and a recursive rm on every upload.
  const written: string[] = [];
  let released = false;
  const cleanup = async () => {
    if (held > 0 && !released) {
      released = true;
      options.memory?.release(held);
    }
    await Promise.all(written.map((file) => rm(file, { force: true })));
  };
  const fields: Record<string, string | string[]> = {};
  const files: Record<string, UploadedFile> = {};
  const errors: Record<string, string[]> = {};

  try {
    const parts = request.parts({ limits: { fileSize: maxFileBytes, files: Math.max(1, limits.length) } });
    // A body without Content-Length (chunked) is refused once it passes the hard limit: the
    // multipart reader fails with the 413 (it listens for errors on the request).
    let received = 0;
    const overLimit = (chunk: Buffer) => {
      received += chunk.length;
      if (received > hardLimit) {
        request.raw.off('data', overLimit);
        request.raw.emit('error', tooLargeFor(options, undefined));
      }
    };
    request.raw.on('data', overLimit);

    for await (const part of parts) {
      if (part.type === 'file') {
        const limit = Object.hasOwn(options.fileFields, part.fieldname) ? options.fileFields[part.fieldname] : undefined;
        if (!limit || files[part.fieldname]) {
          part.file.resume();
          const accepted = Object.keys(options.fileFields).map((f) => `"${f}"`);
          errors[part.fieldname] = limit
            ? ['Only one file may be uploaded for this field.']
            : [`Unexpected file. Only ${accepted.join(', ')} ${accepted.length === 1 ? 'accepts' : 'accept'} a file.`];
          continue;
        }
        limit.arriving?.({ mimeType: part.mimetype, filename: part.filename });
        if (held > 0) {
          // Bounded by the declared length the budget reserved (Node reads no more than that).
          const chunks: Buffer[] = [];
          let bytes = 0;
          for await (const chunk of part.file as AsyncIterable<Buffer>) {
            chunks.push(chunk);
            bytes += chunk.length;
          }
          if (part.file.truncated || bytes > limit.maxBytes) throw tooLarge(part.fieldname, limit.tooLargeMessage);
          files[part.fieldname] = {
            content: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, bytes),
            bytes,
            filename: part.filename,
          };
          continue;
        }
        const target = path.join(options.tmpDir, `upload-${randomBytes(12).toString('hex')}`);
        written.push(target);
        let bytes = 0;
        part.file.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          uploadGarbage.written(chunk.length);
        });
        await pipeline(part.file, createWriteStream(target, { flags: 'wx', mode: 0o600 }));
        if (part.file.truncated || bytes > limit.maxBytes) throw tooLarge(part.fieldname, limit.tooLargeMessage);
        files[part.fieldname] = { content: target, bytes, filename: part.filename };
        continue;
      }
      // A file field sent as text (a part without a filename) keeps its text whatever it holds (a
      // file's bytes hold null characters and may be cut at the field limit): the route refuses it
      // as not a file, in DRF's words, and never stores it.
      if (Object.hasOwn(options.fileFields, part.fieldname)) fields[part.fieldname] = String(part.value);
      else addField(fields, errors, part);
    }
    if (Object.keys(errors).length > 0) throw new ApiError(400, errors);
    return { body: fields, files, cleanup };
  } catch (error) {
    await cleanup();
    throw multipartError(error, (field) => tooLargeFor(options, field));
  }
}

/** A text part into `fields` (repeats become arrays), or its refusal into `errors`. */
function addField(
  fields: Record<string, string | string[]>,
  errors: Record<string, string[]>,
  part: { fieldname: string; fieldnameTruncated: boolean; valueTruncated: boolean; value: unknown },
): void {
  if (part.fieldnameTruncated) throw new ApiError(400, { detail: 'A form field name is too long.' });
  if (part.valueTruncated) {
    errors[part.fieldname] = [`Ensure this field has no more than ${FORM_FIELD_MAX_BYTES} characters.`];
    return;
  }
  const value = typeof part.value === 'string' ? part.value : String(part.value);
  if (holdsNullCharacter(value)) {
    errors[part.fieldname] = [NULL_CHARACTERS];
    return;
  }
  const previous = fields[part.fieldname];
  fields[part.fieldname] = previous === undefined ? value : [...(Array.isArray(previous) ? previous : [previous]), value];
}

/**
 * The text fields of a multipart body sent to a route that takes no file (repeats become arrays):
 * DRF's default parsers read multipart on every view, so a client may sign in or change a setting
 * with a multipart form, as it may with a urlencoded one. A file part is read and dropped, as
 * those views ignore a field they do not know; the whole body stays within `limit` bytes (413
 * past it, as for JSON).
 */
export async function readTextFields(request: FastifyRequest, limit: number): Promise<Record<string, string | string[]>> {
  const bodyTooLarge = () => new ApiError(413, { detail: 'Request body is too large.' });
  const declared = Number(request.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) throw bodyTooLarge();
  const fields: Record<string, string | string[]> = {};
  const errors: Record<string, string[]> = {};
  // A body without Content-Length (chunked) fails once it passes the limit.
  let received = 0;
  const overLimit = (chunk: Buffer) => {
    received += chunk.length;
    if (received > limit) {
      request.raw.off('data', overLimit);
      request.raw.emit('error', bodyTooLarge());
    }
  };
  request.raw.on('data', overLimit);
  try {
    for await (const part of request.parts({ limits: { fileSize: limit } })) {
      if (part.type === 'file') part.file.resume();
      else addField(fields, errors, part);
    }
  } catch (error) {
    throw multipartError(error, bodyTooLarge);
  } finally {
    request.raw.off('data', overLimit);
  }
  if (Object.keys(errors).length > 0) throw new ApiError(400, errors);
  return fields;
}

const cleanups = new Set<Promise<void>>();

/**
 * Runs `handle` with the received form and removes its temporary files whatever happens. The
 * removal runs after the answer is sent, off the upload's critical path; `uploadCleanupsSettled`
 * waits for it at shutdown, and `removeStaleUploads` catches what a killed process left. A route
 * that uses it names `multipart/form-data` in `config.docs.consumes`: on any other route a
 * multipart body has already been read into its text fields (http/bodies.ts).
 */
export async function withForm<T>(request: FastifyRequest, options: FormOptions, handle: (form: ReceivedForm) => Promise<T>): Promise<T> {
  const form = await readForm(request, options);
  try {
    return await handle(form);
  } finally {
    const removal = form.cleanup().catch((error: unknown) => request.log.warn({ err: error }, 'could not remove a temporary upload file'));
    cleanups.add(removal);
    void removal.finally(() => cleanups.delete(removal));
  }
}

/** Resolves once every temporary upload file removal started so far has finished. */
export async function uploadCleanupsSettled(): Promise<void> {
  await Promise.all([...cleanups]);
}

/** Upload files (and folders of earlier versions) left by a process that died mid-request (SIGKILL, power loss). */
export async function removeStaleUploads(tmpDir: string, olderThanMs: number, now = Date.now()): Promise<number> {
  let removed = 0;
  let entries: string[];
  try {
    entries = await readdir(tmpDir);
  } catch {
    return 0;
  }
  for (const entry of entries) {
    if (!entry.startsWith('upload-')) continue;
    const full = path.join(tmpDir, entry);
    const info = await stat(full).catch(() => undefined);
    if (info && now - info.mtimeMs > olderThanMs) {
      await rm(full, { recursive: true, force: true });
      removed += 1;
    }
  }
  return removed;
}
