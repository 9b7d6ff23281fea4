import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { AccountService } from './service.js';
import {
  AccessResponse,
  CredentialsBody,
  DetailError,
  FieldErrors,
  RefreshBody,
  RegisterBody,
  RegisterResponse,
  RoleLoginForbidden,
  RoleLoginResponse,
  TokenPairResponse,
} from './schemas.js';
import { trimStrings } from '../common.js';

export interface AccountRoutesOptions {
  accounts: AccountService;
}

// DRF's CharField trims white space; passwords are taken exactly as typed.
const trimBody = async (request: { body: unknown }) => {
  request.body = trimStrings(request.body, ['password']);
};

export const accountRoutes: FastifyPluginAsyncTypebox<AccountRoutesOptions> = async (app, { accounts }) => {
  app.post(
    '/api/register/',
    {
      preValidation: trimBody,
      schema: {
        tags: ['accounts'],
        summary: 'Create a talent or background account and its profile',
        body: RegisterBody,
        response: { 201: RegisterResponse, 400: FieldErrors },
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
          roles: { is_talent: user.isTalent, is_background: user.isBackground },
        },
      });
    },
  );

  app.post(
    '/api/token/',
    {
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
      schema: {
        tags: ['accounts'],
        summary: 'Exchange a refresh token for a new access token',
        body: RefreshBody,
        response: { 200: AccessResponse, 400: FieldErrors, 401: DetailError },
      },
    },
    async (request) => accounts.refresh(request.body.refresh.trim()),
  );

  for (const role of ['talent', 'background'] as const) {
    app.post(
      `/api/login/${role}/`,
      {
        preValidation: trimBody,
        schema: {
          tags: ['accounts'],
          summary: `Sign in as a ${role} user`,
          body: CredentialsBody,
          response: { 200: RoleLoginResponse, 400: FieldErrors, 401: DetailError, 403: RoleLoginForbidden },
        },
      },
      async (request) => accounts.loginAs(role, request.body.email, request.body.password),
    );
  }
};
