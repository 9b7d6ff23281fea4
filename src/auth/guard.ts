import type { FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import { authenticationFailed, notAuthenticated, permissionDenied } from '../errors.js';
import type { UserRecord } from '../modules/accounts/repository.js';
import type { AccountService } from '../modules/accounts/service.js';
import type { Role } from '../modules/subscriptions/plans.js';

declare module 'fastify' {
  interface FastifyRequest {
    user: UserRecord | null;
  }
}

export const ROLE_HEADERS: Record<Role, string> = { talent: 'is-talent', background: 'is-background' };

/** The bearer token of a request, with simplejwt's answers for malformed headers. */
export function bearerToken(request: FastifyRequest): string {
  const header = request.headers.authorization;
  if (header === undefined || header.trim() === '') throw notAuthenticated();
  const parts = header.trim().split(/\s+/);
  if (parts[0]?.toLowerCase() !== 'bearer') throw notAuthenticated();
  if (parts.length !== 2) {
    throw authenticationFailed('Authorization header must contain two space-delimited values', 'bad_authorization_header');
  }
  return parts[1] as string;
}

function roleHeaderIsTrue(request: FastifyRequest, role: Role): boolean {
  const value = request.headers[ROLE_HEADERS[role]];
  return typeof value === 'string' && value.trim().toLowerCase() === 'true';
}

/**
 * onRequest hooks, so authentication and role checks answer before any body is read: an
 * anonymous 10 MB upload is refused without being received, and auth errors win over body
 * errors as in DRF.
 */
export function createGuards(accounts: { userForAccessToken: AccountService['userForAccessToken'] }) {
  const authenticate: onRequestAsyncHookHandler = async (request) => {
    request.user = await accounts.userForAccessToken(bearerToken(request));
  };

  const requireRole = (role: Role): onRequestAsyncHookHandler =>
    async function requireRoleHook(request, reply) {
      await authenticate.call(this, request, reply);
      const label = role === 'talent' ? 'talent' : 'background';
      if (!roleHeaderIsTrue(request, role)) {
        throw permissionDenied(`User must be a ${label} user (${ROLE_HEADERS[role]}: true)`);
      }
      const user = request.user as UserRecord;
      const hasRole = role === 'talent' ? user.isTalent : user.isBackground;
      if (!hasRole) throw permissionDenied(`This account is not registered as a ${label} user.`);
    };

  return { authenticate, requireRole };
}

export type Guards = ReturnType<typeof createGuards>;

/** The authenticated user of a request that passed a guard. */
export function currentUser(request: FastifyRequest): UserRecord {
  if (!request.user) throw notAuthenticated();
  return request.user;
}
