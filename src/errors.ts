/**
 * Domain errors carry the HTTP status and the exact Django REST Framework-shaped body that
 * existing clients read. One error handler (app.ts) turns them into responses.
 */
export type ErrorBody = Record<string, unknown>;
export type FieldErrors = Record<string, string[]>;

export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly body: ErrorBody,
    readonly headers: Record<string, string> = {},
  ) {
    super(typeof body.detail === 'string' ? body.detail : JSON.stringify(body));
    this.name = 'ApiError';
  }
}

/**
 * A presented secret was wrong: a password, a verification or reset code. The brute-force limits
 * count exactly these (http/rate-limit.ts), whatever the route and status.
 */
export class CredentialError extends ApiError {}

export const validationError = (fields: FieldErrors): ApiError => new ApiError(400, fields);

const WWW_AUTHENTICATE = { 'WWW-Authenticate': 'Bearer realm="api"' };

export const notAuthenticated = (): ApiError =>
  new ApiError(401, { detail: 'Authentication credentials were not provided.' }, WWW_AUTHENTICATE);

export const authenticationFailed = (detail: string, code: string, extra: ErrorBody = {}): ApiError =>
  new ApiError(401, { detail, code, ...extra }, WWW_AUTHENTICATE);

/** The token's account is gone (deleted, also by another request while this one was under way). */
export const userNotFound = (): ApiError => authenticationFailed('User not found', 'user_not_found');

export const invalidToken = (tokenType: 'access' | 'refresh'): ApiError =>
  authenticationFailed('Given token not valid for any token type', 'token_not_valid', {
    messages: [
      {
        token_class: tokenType === 'access' ? 'AccessToken' : 'RefreshToken',
        token_type: tokenType,
        message: 'Token is invalid or expired',
      },
    ],
  });

export const permissionDenied = (detail: string): ApiError => new ApiError(403, { detail });

export const notFound = (detail = 'Not found.'): ApiError => new ApiError(404, { detail });

export const serviceUnavailable = (detail: string, retryAfterSeconds?: number): ApiError =>
  new ApiError(503, { detail }, retryAfterSeconds === undefined ? {} : { 'Retry-After': String(retryAfterSeconds) });
