import type { FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import { authenticationFailed, notAuthenticated, permissionDenied } from '../errors.js';
import { ROLE_HEADERS, type Role } from './roles.js';

/** What the guards need to know of a signed-in user. */
export interface Principal {
  id: number;
  isTalent: boolean;
  isBackground: boolean;
}

/** Whatever turns an access token into its active user, or throws the API error saying why not. */
export interface Authenticator<User extends Principal> {
  userForAccessToken(token: string): Promise<User>;
}

declare module 'fastify' {
  interface FastifyRequest {
    user: Principal | null;
  }
}

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
export function createGuards<User extends Principal>(accounts: Authenticator<User>) {
  const signIn = async (request: FastifyRequest): Promise<User> => {
    const user = await accounts.userForAccessToken(bearerToken(request));
    request.user = user;
    return user;
  };

  const authenticate: GuardHook = Object.assign(
    async function authenticateHook(request: FastifyRequest) {
      await signIn(request);
    },
    { access: 'user' as const },
  );

  const requireRole = (role: Role): GuardHook =>
    Object.assign(
      async function requireRoleHook(request: FastifyRequest) {
        const user = await signIn(request);
        if (!roleHeaderAllows(request, role)) {
          throw permissionDenied(`User must be a ${role} user (${ROLE_HEADERS[role]}: true)`);
        }
        const hasRole = role === 'talent' ? user.isTalent : user.isBackground;
        if (!hasRole) throw permissionDenied(`This account is not registered as a ${role} user.`);
      },
      { access: role },
    );

  /** The user of a request that passed one of these guards. */
  const user = (request: FastifyRequest): User => {
    if (!request.user) throw notAuthenticated();
    return request.user as User;
  };

  return { authenticate, requireRole, user };
}

export type Guards<User extends Principal> = ReturnType<typeof createGuards<User>>;
