import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { IMMUTABLE_CACHE_CONTROL } from '../storage/types.js';

/** web/dist next to src/ and dist/ alike. */
const WEB_DIST = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'web', 'dist');

/**
 * Serves the built front end at /. Routes are registered per built file (no wildcard), so
 * unknown /api/ paths still get the API's JSON 404. Hashed assets are immutable; the page is not.
 */
export async function serveWeb(app: FastifyInstance, dir = WEB_DIST): Promise<boolean> {
  if (!existsSync(path.join(dir, 'index.html'))) {
    app.log.warn({ dir }, 'web front end not built (npm run build:web); serving the API only');
    return false;
  }
  await app.register(fastifyStatic, {
    root: dir,
    prefix: '/',
    wildcard: false,
    decorateReply: false,
    index: ['index.html'],
    cacheControl: false,
    setHeaders: (reply, filePath) => {
      const hashed = filePath.includes(`${path.sep}assets${path.sep}`);
      reply.header('Cache-Control', hashed ? IMMUTABLE_CACHE_CONTROL : 'no-cache');
      reply.header('X-Content-Type-Options', 'nosniff');
    },
  });
  return true;
}
