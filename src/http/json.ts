import type { FastifyInstance } from 'fastify';
import { ApiError } from '../errors.js';

/**
 * The largest body any endpoint takes is an item with two 2 000-character texts: about 50 KB as
 * form data with every character percent-encoded. 64 KiB leaves room; anything bigger is not a
 * request castfolio serves (uploads are multipart and have their own limits).
 */
export const JSON_BODY_LIMIT = 64 * 1024;
/** No body castfolio reads nests deeper than 3. */
const JSON_MAX_DEPTH = 32;

/**
 * Depth of the deepest array or object, counted in one pass over the text (strings skipped),
 * stopping at the first level past `limit`: `[[[[…` is refused without building anything.
 */
function exceedsDepth(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x5b /* [ */ || c === 0x7b /* { */) {
      if (++depth > limit) return true;
    } else if (c === 0x5d /* ] */ || c === 0x7d /* } */) {
      depth--;
    }
  }
  return false;
}

/**
 * application/json with Fastify's own parser (prototype poisoning refused) behind a depth check.
 * `emptyBody` is what an empty body parses to in this scope (a route that accepts none); by default
 * it is refused, as Fastify does.
 */
export function registerJsonParser(app: FastifyInstance, options: { emptyBody?: unknown } = {}): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: JSON_BODY_LIMIT }, (request, body, done) => {
    if (options.emptyBody !== undefined && (body as string).trim() === '') {
      done(null, options.emptyBody);
      return;
    }
    if (exceedsDepth(body as string, JSON_MAX_DEPTH)) {
      done(new ApiError(400, { detail: `JSON parse error - the body is nested more than ${JSON_MAX_DEPTH} levels deep.` }), undefined);
      return;
    }
    parse(request, body as string, done);
  });
}
