import formbody from '@fastify/formbody';
import multipart from '@fastify/multipart';
import type { FastifyInstance } from 'fastify';
import { JSON_BODY_LIMIT, registerJsonParser } from './json.js';
import { FORM_LIMITS } from './multipart.js';

/** Bodies are JSON, forms or multipart, as in DRF: anything else (text/plain too) is a 415. */
export async function registerBodyParsers(app: FastifyInstance): Promise<void> {
  registerJsonParser(app);
  app.removeContentTypeParser('text/plain');
  await app.register(formbody, { bodyLimit: JSON_BODY_LIMIT });
  await app.register(multipart, { limits: FORM_LIMITS, throwFileSizeLimit: true });
}
