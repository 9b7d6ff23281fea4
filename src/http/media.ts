import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { IMMUTABLE_CACHE_CONTROL } from '../storage/types.js';

/**
 * Serves the local driver's folder at /<prefix>/. @fastify/static refuses paths outside the root
 * and dotfiles; names are immutable, so caches may keep them for a year.
 */
export async function serveLocalMedia(app: FastifyInstance, root: string, urlPrefix: string): Promise<void> {
  await mkdir(root, { recursive: true });
  await app.register(fastifyStatic, {
    root: path.resolve(root),
    prefix: `/${urlPrefix}/`,
    decorateReply: false,
    index: false,
    list: false,
    dotfiles: 'deny',
    etag: true,
    lastModified: true,
    cacheControl: false,
    allowedPath: (pathName) => !pathName.endsWith('.partial'),
    setHeaders: (res, filePath) => {
      res.header('Cache-Control', IMMUTABLE_CACHE_CONTROL);
      res.header('X-Content-Type-Options', 'nosniff');
      // Nothing served from here may run script, even a PDF opened directly.
      res.header('Content-Security-Policy', "default-src 'none'; sandbox");
      if (filePath.endsWith('.pdf')) res.header('Content-Disposition', 'attachment');
    },
  });
}
