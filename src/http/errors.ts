import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError, type ErrorBody } from '../errors.js';
import { drainBody } from './deadlines.js';

/** Fastify's and its plugins' own 4xx errors, in DRF's words. */
function clientErrorBody(error: FastifyError, request: FastifyRequest): { status: number; body: ErrorBody } {
  const status = error.statusCode ?? 400;
  switch (error.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return {
        status: 415,
        body: { detail: `Unsupported media type "${request.headers['content-type'] ?? ''}" in request.` },
      };
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { status: 413, body: { detail: 'Request body is too large.' } };
    case 'FST_ERR_CTP_INVALID_TYPE':
      return { status: 415, body: { detail: 'Invalid Content-Type header.' } };
    default:
      return { status, body: { detail: error.message } };
  }
}

export function sendError(reply: FastifyReply, status: number, body: ErrorBody, headers: Record<string, string> = {}) {
  // Pre-serialised: an error body never goes through a route's success schema.
  return reply.code(status).headers(headers).type('application/json; charset=utf-8').send(JSON.stringify(body));
}

// Sockets refused or cut, a busy SQLite, and PostgreSQL's "try again" classes: query cancelled by
// statement_timeout (57014), lock timeout (55P03), serialization failure and deadlock (40001, 40P01).
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'EPIPE',
  'SQLITE_BUSY',
  '57014',
  '55P03',
  '40001',
  '40P01',
]);

/** A dependency that is down or overloaded (PostgreSQL connection classes 08 and 57P0x, refused sockets, a busy SQLite). */
function isUnavailable(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') {
    return /Connection terminated|timeout exceeded when trying to connect|Query read timeout/i.test(String((error as Error)?.message));
  }
  return UNAVAILABLE_CODES.has(code) || /^08/.test(code) || /^57P0/.test(code);
}

/** A row referred to by a foreign key is not there (PostgreSQL 23503, SQLite's FOREIGN KEY constraint). */
function isForeignKeyViolation(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === '23503' || code === 'SQLITE_CONSTRAINT_FOREIGNKEY';
}

/**
 * A 413 is decided while the client is still sending: the rest of the body is read and discarded
 * (bounded) before the answer goes out, so the client can read it (see drainBody).
 */
async function sendRefusal(
  request: FastifyRequest,
  reply: FastifyReply,
  status: number,
  body: ErrorBody,
  headers: Record<string, string> = {},
) {
  if (status === 413 && !(await drainBody(request.raw))) headers = { ...headers, Connection: 'close' };
  return sendError(reply, status, body, headers);
}

export async function errorHandler(error: FastifyError | ApiError, request: FastifyRequest, reply: FastifyReply) {
  if (error instanceof ApiError) {
    if (error.statusCode >= 500) request.log.error({ err: error }, error.message);
    return sendRefusal(request, reply, error.statusCode, error.body, error.headers);
  }
  const status = (error as FastifyError).statusCode;
  if (status !== undefined && status >= 400 && status < 500) {
    const mapped = clientErrorBody(error as FastifyError, request);
    request.log.info({ code: error.code, status: mapped.status }, error.message);
    return sendRefusal(request, reply, mapped.status, mapped.body);
  }
  if (isForeignKeyViolation(error)) {
    // A row the change refers to (its owner's account, an item) was deleted while it was being
    // made: a conflict with that deletion, not a server fault. Trying again gets that answer.
    request.log.warn({ err: error }, 'a change referred to a row deleted meanwhile');
    return sendError(reply, 409, { detail: 'Something this request refers to was deleted meanwhile. Please reload and try again.' });
  }
  if (isUnavailable(error)) {
    request.log.error({ err: error }, 'dependency unavailable');
    return sendError(reply, 503, { detail: 'The service is temporarily unavailable. Please try again shortly.' }, { 'Retry-After': '5' });
  }
  request.log.error({ err: error }, 'unhandled error');
  return sendError(reply, 500, { detail: 'A server error occurred. It has been logged; please try again.' });
}
