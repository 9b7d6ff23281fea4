import formbody from '@fastify/formbody';
import multipart from '@fastify/multipart';
import type { FastifyInstance } from 'fastify';
import { JSON_BODY_LIMIT, registerJsonParser } from './json.js';
import { FORM_LIMITS, readTextFields } from './multipart.js';
import { typedFormValues } from '../validation.js';

const URLENCODED = /^\s*application\/x-www-form-urlencoded\s*(;|$)/i;

/** Bodies are JSON, forms or multipart on every route, as in DRF: anything else (text/plain too) is a 415. */
export async function registerBodyParsers(app: FastifyInstance): Promise<void> {
  registerJsonParser(app);
  app.removeContentTypeParser('text/plain');
  await app.register(formbody, { bodyLimit: JSON_BODY_LIMIT });
  await app.register(multipart, { limits: FORM_LIMITS, throwFileSizeLimit: true });
  // A route documented as taking multipart reads its own body (withForm: files stream to disk);
  // on every other route a multipart body's text fields are the body, as a urlencoded body's are,
  // and a form's text is read as the body schema's numbers and booleans.
  app.addHook('preValidation', async (request) => {
    if (request.method === 'GET' || request.method === 'HEAD') return;
    if (request.isMultipart()) {
      if (request.routeOptions.config.docs?.consumes.includes('multipart/form-data')) return;
      request.body = await readTextFields(request, JSON_BODY_LIMIT);
    } else if (!URLENCODED.test(request.headers['content-type'] ?? '')) return;
    request.body = typedFormValues(request.routeOptions.schema?.body, request.body);
  });
}
