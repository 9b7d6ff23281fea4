import formbody from '@fastify/formbody';
import multipart from '@fastify/multipart';
import { errorCodes, type FastifyInstance, type FastifyRequest } from 'fastify';
import { ApiError } from '../errors.js';
import { JSON_BODY_LIMIT, registerJsonParser } from './json.js';
import { FORM_LIMITS, readTextFields } from './multipart.js';
import { nullCharacterErrors, typedFormValues } from '../validation.js';

const URLENCODED = /^\s*application\/x-www-form-urlencoded\s*(;|$)/i;

/** Bodies are JSON, forms or multipart on every route, as in DRF: anything else (text/plain too) is a 415. */
export async function registerBodyParsers(app: FastifyInstance): Promise<void> {
  registerJsonParser(app);
  app.removeContentTypeParser('text/plain');
  // Any other type of body is refused as Fastify refuses it (415, in DRF's words: errors.ts), but an
  // empty one is no data whatever its declared type, as DRF reads it (fetch() labels an empty
  // string body text/plain), and so is a body of no declared type (with no body at all, no parser
  // runs: the hook below).
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: JSON_BODY_LIMIT }, (request, body, done) => {
    const type = request.headers['content-type'];
    if ((body as Buffer).length === 0 || type === undefined) done(null, {});
    else done(new errorCodes.FST_ERR_CTP_INVALID_MEDIA_TYPE(type), undefined);
  });
  await app.register(formbody, { bodyLimit: JSON_BODY_LIMIT });
  await app.register(multipart, { limits: FORM_LIMITS, throwFileSizeLimit: true });
  // A route documented as taking multipart reads its own body (withForm: files stream to disk);
  // on every other route a multipart body's text fields are the body, as a urlencoded body's are,
  // and a form's text is read as the body schema's numbers and booleans. A request without a
  // declared type has no data (DRF reads no body there). Then a text holding U+0000
  // anywhere in the query or the body is refused (a form read later is checked as it is read).
  app.addHook('preValidation', async (request) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      if (request.headers['content-type'] === undefined) request.body = {};
      else await readFormBody(request);
    }
    const errors = nullCharacterErrors(request.query, request.body);
    if (errors) throw new ApiError(400, errors);
  });
}

async function readFormBody(request: FastifyRequest): Promise<void> {
  if (request.isMultipart()) {
    if (request.routeOptions.config.docs?.consumes.includes('multipart/form-data')) return;
    request.body = await readTextFields(request, JSON_BODY_LIMIT);
  } else if (!URLENCODED.test(request.headers['content-type'] ?? '')) return;
  request.body = typedFormValues(request.routeOptions.schema?.body, request.body);
}
