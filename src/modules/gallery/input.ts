import { open } from 'node:fs/promises';
import { validationError, type FieldErrors } from '../../errors.js';
import type { UploadedFile } from '../../http/multipart.js';
import { asDictionary } from '../../validation.js';

export const MEDIA_FIELD = 'media_file';
const NAME_MAX = 124;
const INFO_MAX = 2000;

/** A gallery upload as received: the multipart fields and the file. */
export interface GalleryForm {
  body: unknown;
  files: Record<string, UploadedFile>;
}

export interface GalleryInput {
  name: string;
  mediaInfo: string;
  file: UploadedFile;
}

const text = (value: unknown) => (Array.isArray(value) ? value.at(-1) : value);

/** The live serializer's rules: a file, a name that is not blank (at most 124 characters), optional info. */
export function parseGalleryForm(form: GalleryForm): GalleryInput {
  const body = asDictionary(form.body);
  const errors: FieldErrors = {};
  const name = text(body.name);
  const info = text(body.media_info);
  const file = form.files[MEDIA_FIELD];
  if (!file)
    errors[MEDIA_FIELD] = [
      body[MEDIA_FIELD] === undefined
        ? 'No file was submitted.'
        : 'The submitted data was not a file. Check the encoding type on the form.',
    ];
  if (typeof name !== 'string' || name.trim() === '')
    errors.name = [name === undefined ? 'This field is required.' : 'This field may not be blank.'];
  else if (name.trim().length > NAME_MAX) errors.name = [`Ensure this field has no more than ${NAME_MAX} characters.`];
  if (info !== undefined && typeof info !== 'string') errors.media_info = ['Not a valid string.'];
  else if (typeof info === 'string' && info.trim().length > INFO_MAX)
    errors.media_info = [`Ensure this field has no more than ${INFO_MAX} characters.`];
  if (text(body.media_type) === 'video') errors.media_type = ['Video uploads are not available yet: upload a photo.'];
  if (Object.keys(errors).length > 0) throw validationError(errors);
  return { name: (name as string).trim(), mediaInfo: typeof info === 'string' ? info.trim() : '', file: file as UploadedFile };
}

/** Whether the bytes start like a video container (MP4/MOV "ftyp", WebM/Matroska, AVI). */
export async function looksLikeVideo(file: UploadedFile): Promise<boolean> {
  const handle = await open(file.path, 'r');
  try {
    const head = Buffer.alloc(12);
    const { bytesRead } = await handle.read(head, 0, 12, 0);
    if (bytesRead < 12) return false;
    const ftyp =
      head.toString('latin1', 4, 8) === 'ftyp' && !/^(avif|avis|heic|heix|mif1|msf1|heim|heis|hevc)$/.test(head.toString('latin1', 8, 12));
    return (
      ftyp || head.readUInt32BE(0) === 0x1a45dfa3 || (head.toString('latin1', 0, 4) === 'RIFF' && head.toString('latin1', 8, 11) === 'AVI')
    );
  } finally {
    await handle.close();
  }
}
