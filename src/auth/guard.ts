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

/** Who may call a route, read back from its hooks by the OpenAPI document. */
export type Access = 'user' | Role;
export type GuardHook = onRequestAsyncHookHandler & { access: Access };

export function accessOf(hooks: unknown): Access | undefined {
  const list = Array.isArray(hooks) ? hooks : hooks ? [hooks] : [];
  for (const hook of list) {
    const access = (hook as Partial<GuardHook>).access;
    if (access) return access;
  }
  return undefined;
}

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

/**
 * The role headers say which role the client acts as (the API guide's clients send them). A client
 * that sends neither (the live web app: the live service checked the account's flags, not a header)
 * is taken at its account's role. A header that is sent keeps its meaning: the route's own header
 * must be "true", and a client that declares only the other role is refused.
 */
function roleHeaderAllows(request: FastifyRequest, role: Role): boolean {
  const own = request.headers[ROLE_HEADERS[role]];
  if (own === undefined) {
    const other = ROLE_HEADERS[role === 'talent' ? 'background' : 'talent'];
    return request.headers[other] === undefined;
  }
  return typeof own === 'string' && own.trim().toLowerCase() === 'true';
}

/**
 * onRequest hooks, so authentication and role checks answer before any body is read: an
 * anonymous 10 MB upload is refused without being received, and auth errors win over body
 * errors as in DRF.
 */
export function createGuards(accounts: { userForAccessToken: AccountService['userForAccessToken'] }) {
  const signIn = async (request: FastifyRequest): Promise<UserRecord> => {
    request.user = await accounts.userForAccessToken(bearerToken(request));
    return request.user;
  };

  const authenticate: GuardHook = Object.assign(
    async function authenticateHook(request: FastifyRequest) {
      await signIn(request);
    },
    { access: 'user' as const },
  );

  const requireRole = (role: Role): GuardHook =>
    Object.assign(async function requireRoleHook(request: FastifyRequest) {
      const user = await signIn(request);
      if (!roleHeaderAllows(request, role)) {
        throw permissionDenied(`User must be a ${role} user (${ROLE_HEADERS[role]}: true)`);
      }
      const hasRole = role === 'talent' ? user.isTalent : user.isBackground;
      if (!hasRole) throw permissionDenied(`This account is not registered as a ${role} user.`);
    }, { access: role });

  return { authenticate, requireRole };
}

export type Guards = ReturnType<typeof createGuards>;

/** The authenticated user of a request that passed a guard. */
export function currentUser(request: FastifyRequest): UserRecord {
  if (!request.user) throw notAuthenticated();
  return request.user;
}
