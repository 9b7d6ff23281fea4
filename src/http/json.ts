import type { FastifyInstance } from 'fastify';
import secureJson from 'secure-json-parse';
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
 * application/json parsed by secure-json-parse (Fastify's own parser, prototype poisoning refused)
 * behind a depth check, its refusals saying where the text goes wrong. An empty body is an empty
 * object, as Django REST Framework reads it (a request without a body has no data): the route then
 * says which fields it needs, and a sign-out from axios with its JSON content type and no body
 * signs out.
 */
export function registerJsonParser(app: FastifyInstance): void {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: JSON_BODY_LIMIT }, (_request, body, done) => {
    const text = body as string;
    if (text.length === 0) {
      done(null, {});
      return;
    }
    if (exceedsDepth(text, JSON_MAX_DEPTH)) {
      done(new ApiError(400, { detail: `JSON parse error - the body is nested more than ${JSON_MAX_DEPTH} levels deep.` }), undefined);
      return;
    }
    try {
      done(null, secureJson.parse(text, { protoAction: 'error', constructorAction: 'error' }));
    } catch (error) {
      done(new ApiError(400, { detail: `JSON parse error - ${parseFailure(error)}` }), undefined);
    }
  });
}

/**
 * Why the body is not JSON, in the parser's words (where the text goes wrong) but never quoting
 * the body: V8 quotes it in some messages, and a body may hold a password.
 */
function parseFailure(error: unknown): string {
  const message = error instanceof Error ? error.message : '';
  if (message === 'Object contains forbidden prototype property') {
    return 'a key named "__proto__", or "constructor" holding "prototype", is not allowed.';
  }
  const reason = message.replace(/, (?:\.\.\.)?".*"(?:\.\.\.)? is not valid JSON$/s, '');
  return reason && !reason.includes('"') ? `${reason}.` : 'the body is not valid JSON.';
}
