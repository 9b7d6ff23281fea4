import { randomBytes } from 'node:crypto';

const CONTENT_TYPES: Record<string, string> = {
  jpg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
  gif: 'image/gif',
  pdf: 'application/pdf',
};

// folder/<owner id>_<token>.<ext>: exactly what newObjectName makes, so nothing else can be addressed.
const SAFE_NAME = /^[a-z_]+\/\d+_[A-Za-z0-9_-]{16,64}\.(jpg|png|webp|gif|pdf)$/;

export function isSafeName(name: string): boolean {
  return SAFE_NAME.test(name);
}

export function assertSafeName(name: string): void {
  if (!isSafeName(name)) throw new Error(`refusing unsafe media name ${JSON.stringify(name)}`);
}

/** A new, unguessable name on every upload, so CDN caches never serve a stale picture. */
export function newObjectName(folder: string, ownerId: number, extension: string): string {
  return `${folder}/${ownerId}_${randomBytes(16).toString('base64url')}.${extension}`;
}

export function contentTypeForName(name: string): string {
  return CONTENT_TYPES[name.slice(name.lastIndexOf('.') + 1)] ?? 'application/octet-stream';
}
