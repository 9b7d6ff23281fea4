import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '../../errors.js';
import { mediaUrlsFor, type PublicUrl } from '../../http/request.js';
import { errorHandler } from '../../http/errors.js';
import { bearerToken } from '../../auth/guard.js';
import type { AccountGuards } from './guards.js';
import type { AccountLifecycle } from './lifecycle.js';
import type { AccountService } from './service.js';
import {
  EmailBody,
  MessageResponse,
  PasswordBody,
  PasswordChangeBody,
  PasswordChangedResponse,
  RefreshResponse,
  ResetConfirmBody,
  VerifiedResponse,
  VerifyCodeBody,
  CredentialsBody,
  DetailError,
  FieldErrors,
  RefreshBody,
  RegisterBody,
  RegisterResponse,
  RoleLoginForbidden,
  LiveErrors,
  LogoutBody,
  LogoutResponse,
  RoleLoginResponse,
  SuccessResponse,
  TokenPairResponse,
} from './schemas.js';
import { trimStrings } from '../common.js';

export interface AccountRoutesOptions {
  accounts: AccountService;
  lifecycle: AccountLifecycle;
  guards: AccountGuards;
  /** The public URL of a stored picture, as the profile endpoints give it. */
  publicUrl: PublicUrl;
}

/** The first message of a DRF error body. */
function firstMessage(body: Record<string, unknown>): string {
  if (typeof body.detail === 'string') return body.detail;
  for (const value of Object.values(body)) {
    if (Array.isArray(value) && typeof value[0] === 'string') return value[0];
  }
  return 'Invalid request.';
}

/**
 * The live service answers these routes' failures as `{"success": false, "message": …}` (register
 * adds `errors`, the logins `error`) and the web app shows `message`. The DRF fields stay beside
 * them, so clients reading either shape find what they look for. The error keeps its class (a
 * CredentialError still counts against the brute-force limits).
 */
function liveErrors(envelope: (body: Record<string, unknown>) => Record<string, unknown>, statuses: number[] = [400]) {
  return (error: FastifyError | ApiError, request: FastifyRequest, reply: FastifyReply) => {
    if (!(error instanceof ApiError) || !statuses.includes(error.statusCode)) return errorHandler(error, request, reply);
    const Kind = error.constructor as typeof ApiError;
    const { 'WWW-Authenticate': _challenge, ...headers } = error.headers;
    return errorHandler(new Kind(400, { success: false, ...envelope(error.body), ...error.body }, headers), request, reply);
  };
}

// DRF's CharField trims white space; passwords are taken exactly as typed.
const trimBody = async (request: { body: unknown }) => {
  request.body = trimStrings(request.body, ['password']);
};

const errors = { 400: FieldErrors, 401: DetailError };

export const accountRoutes: FastifyPluginAsyncTypebox<AccountRoutesOptions> = async (app, { accounts, lifecycle, guards, publicUrl }) => {
  app.post(
    '/api/register/',
    {
      config: { rateLimit: ['auth'] },
      errorHandler: liveErrors((body) => ({ message: 'Registration validation failed', errors: body })),
      preValidation: trimBody,
      schema: {
        tags: ['accounts'],
        summary: 'Create a talent or background account and its profile',
        body: RegisterBody,
        response: { 201: RegisterResponse, 400: LiveErrors },
      },
    },
    async (request, reply) => {
      const user = await accounts.register(request.body);
      return reply.code(201).send({
        success: true,
        message: 'User registered successfully',
        user: {
          email: user.email,
          first_name: user.firstName,
          last_name: user.lastName,
          roles: { is_talent: user.isTalent, is_background: user.isBackground, is_dashboard: false, is_dashboard_admin: false },
        },
        email_verification: { required: true, message: 'Please check your email for the verification code' },
      });
    },
  );

  app.post(
    '/api/token/',
    {
      config: { rateLimit: ['auth', 'credentials'] },
      preValidation: trimBody,
      schema: {
        tags: ['accounts'],
        summary: 'Obtain an access and a refresh token',
        body: CredentialsBody,
        response: { 200: TokenPairResponse, 400: FieldErrors, 401: DetailError },
      },
    },
    async (request) => (await accounts.obtainTokens(request.body.email, request.body.password)).tokens,
  );

  app.post(
    '/api/token/refresh/',
    {
      config: { rateLimit: ['auth'] },
      schema: {
        tags: ['accounts'],
        summary: 'Exchange a refresh token for a new access token (and, with rotation, a new refresh token)',
        body: RefreshBody,
        response: { 200: RefreshResponse, ...errors },
      },
    },
    async (request) => accounts.refresh(request.body.refresh.trim()),
  );

  // The live web app signs out with an empty POST and its access token; the API guide's clients
  // send the refresh token. Either way the session ends: every token of that sign-in stops working.
  app.post(
    '/api/logout/',
    {
      config: { rateLimit: ['auth'] },
      schema: {
        tags: ['accounts'],
        summary: 'End the session of a refresh token, or (no body) of the access token presented',
        body: LogoutBody,
        response: { 200: LogoutResponse, ...errors },
      },
    },
    async (request) => {
      const refresh = (request.body as { refresh?: string }).refresh?.trim();
      if (refresh) await accounts.logout(refresh);
      else await accounts.logoutSession(bearerToken(request));
      return { success: true, message: 'Logged out successfully' };
    },
  );

  app.post(
    '/api/verify-code/',
    {
      config: { rateLimit: ['auth', 'credentials'] },
      errorHandler: liveErrors((body) => ({ message: firstMessage(body) })),
      preValidation: trimBody,
      schema: {
        tags: ['accounts'],
        summary: 'Verify the email address with the 6-digit code',
        body: VerifyCodeBody,
        response: { 200: VerifiedResponse, 400: LiveErrors },
      },
    },
    async (request) => {
      await lifecycle.verifyEmail(request.body.email, request.body.code);
      return { success: true, message: 'Email verified successfully', email_verified: true };
    },
  );

  app.post(
    '/api/resend-code/',
    {
      config: { rateLimit: ['auth'] },
      errorHandler: liveErrors((body) => ({ message: firstMessage(body) })),
      preValidation: trimBody,
      schema: {
        tags: ['accounts'],
        summary: 'Send a new verification code (at most one a minute)',
        body: EmailBody,
        response: { 200: SuccessResponse, 400: LiveErrors },
      },
    },
    async (request) => {
      await lifecycle.resendVerification(request.body.email);
      // Unlike the live service (404 "User not found"), the answer does not tell whether the address has an account.
      return { success: true, message: 'If this address belongs to an account that is not verified yet, a new code is on its way.' };
    },
  );

  app.post(
    '/api/password-reset/',
    {
      config: { rateLimit: ['auth'] },
      preValidation: trimBody,
      schema: {
        tags: ['accounts'],
        summary: 'Send a password reset code (valid 1 h, single use)',
        body: EmailBody,
        response: { 200: MessageResponse, 400: FieldErrors },
      },
    },
    async (request) => {
      await lifecycle.requestPasswordReset(request.body.email);
      return { message: 'If this address belongs to an account, a password reset code is on its way.' };
    },
  );

  app.post(
    '/api/password-reset/confirm/',
    {
      config: { rateLimit: ['auth', 'credentials'] },
      preValidation: async (request: { body: unknown }) => {
        request.body = trimStrings(request.body, ['new_password']);
      },
      schema: {
        tags: ['accounts'],
        summary: 'Set a new password with the reset code; every session ends',
        body: ResetConfirmBody,
        response: { 200: MessageResponse, 400: FieldErrors },
      },
    },
    async (request) => {
      await lifecycle.confirmPasswordReset(request.body.email, request.body.code, request.body.new_password);
      return { message: 'Password has been reset. Sign in with the new password.' };
    },
  );

  app.post(
    '/api/password/change/',
    {
      config: { rateLimit: ['credentials'] },
      onRequest: guards.authenticate,
      schema: {
        tags: ['accounts'],
        summary: 'Change the password; other sessions end, a new token pair is returned',
        body: PasswordChangeBody,
        response: { 200: PasswordChangedResponse, ...errors },
      },
    },
    async (request) => ({
      message: 'Password updated successfully.',
      ...(await accounts.changePassword(guards.user(request), request.body.old_password, request.body.new_password)),
    }),
  );

  app.delete(
    '/api/account/',
    {
      config: { rateLimit: ['credentials'] },
      onRequest: guards.authenticate,
      schema: {
        tags: ['accounts'],
        summary: 'Delete the account with its profile, items, subscriptions and every stored file',
        body: PasswordBody,
        response: { 204: { type: 'null' }, ...errors },
      },
    },
    async (request, reply) => {
      await accounts.deleteAccount(guards.user(request), request.body.password);
      return reply.code(204).send(null);
    },
  );

  for (const role of ['talent', 'background'] as const) {
    app.post(
      `/api/login/${role}/`,
      {
        config: { rateLimit: ['auth', 'credentials'] },
        // The live view answers a failed sign-in 400 {"success": false, "message": "Login failed", "error": …}.
        errorHandler: liveErrors((body) => ({ message: 'Login failed', error: firstMessage(body) }), [400, 401]),
        preValidation: trimBody,
        schema: {
          tags: ['accounts'],
          summary: `Sign in as a ${role} user`,
          body: CredentialsBody,
          response: { 200: RoleLoginResponse, 400: LiveErrors, 403: RoleLoginForbidden },
        },
      },
      async (request) => {
        const { user, tokens, picture } = await accounts.loginAs(role, request.body.email, request.body.password);
        return {
          ...tokens,
          id: user.id,
          email: user.email,
          first_name: user.firstName,
          last_name: user.lastName,
          email_verified: user.emailVerified,
          profile_picture: picture === null ? null : mediaUrlsFor(request, publicUrl)(picture),
          is_talent: user.isTalent,
          is_background: user.isBackground,
          is_dashboard: false,
          is_dashboard_admin: false,
          is_staff: false,
          ...(user.emailVerified
            ? {}
            : {
                message:
                  'Your email is not verified. You can still use your account, but we recommend verifying your email for enhanced security.',
                verification_required: true,
              }),
          user: { id: user.id, email: user.email, first_name: user.firstName, last_name: user.lastName },
        };
      },
    );
  }
};
