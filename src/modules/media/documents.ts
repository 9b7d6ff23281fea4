import { readUploadSlice, type UploadedFile } from '../../http/multipart.js';

/**
 * A PDF by its bytes: the %PDF-1.x / %PDF-2.x header at the start and an %%EOF trailer near the
 * end. It is stored as uploaded (PDFs cannot be re-encoded like images), so it is always served
 * as an attachment inside a sandbox (see storage and http/media.ts).
 */
export async function isPdf(file: Pick<UploadedFile, 'content' | 'bytes'>): Promise<boolean> {
  if (file.bytes < 16) return false;
  const head = (await readUploadSlice(file, 0, 16)).toString('latin1');
  if (!/^%PDF-[12]\.\d/.test(head)) return false;
  const tail = (await readUploadSlice(file, -1024, 1024)).toString('latin1');
  return tail.includes('%%EOF');
}
