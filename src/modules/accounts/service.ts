import { hashPassword, passwordProblems, type PasswordChecker } from '../../auth/passwords.js';
import type { TokenClaims, TokenPair, TokenService } from '../../auth/tokens.js';
import { isUniqueViolation } from '../../db/index.js';
import {
  ApiError,
  authenticationFailed,
  CredentialError,
  invalidToken,
  notFound,
  userNotFound,
  validationError,
  type FieldErrors,
} from '../../errors.js';
import { normaliseEmail } from '../../auth/email.js';
import { birthDateProblem } from '../common.js';
import type { Log } from '../../log.js';
import type { DeletionQueue } from '../media/deletions.js';
import type { Role } from '../../auth/roles.js';
import type { UserRecord, UserRepository } from './repository.js';
import type { RevocationRepository } from './revocations.js';
import type { RegisterBody } from './schemas.js';

const DUPLICATE_EMAIL = 'A user with this email already exists.';
const NO_ACTIVE_ACCOUNT = 'No active account found with the given credentials';

const emptyToNull = (value: string | undefined): string | null => (value === undefined || value === '' ? null : value);
const isoFromSeconds = (seconds: number) => new Date(seconds * 1000).toISOString();

export interface AccountServiceDeps {
  users: UserRepository;
  tokens: TokenService;
  passwords: PasswordChecker;
  clock: () => Date;
  deletions: Pick<DeletionQueue, 'purge'>;
  revocations: RevocationRepository;
  /** Refresh returns a new refresh token and revokes the old one; reuse revokes the session. */
  rotateRefreshTokens: boolean;
  /** Refresh token lifetime: a revoked session must stay revoked until its last token expired. */
  refreshTtlSeconds: number;
  /** Called with every new account, e.g. to send the verification code. */
  onRegistered: (user: UserRecord) => Promise<void>;
  /** Called with the address of every deleted account, e.g. to remove kept copies of its mails. */
  onDeleted: (email: string) => Promise<void>;
  log: Log;
}

export class AccountService {
  constructor(private readonly deps: AccountServiceDeps) {}

  private get users() {
    return this.deps.users;
  }

  private nowSeconds(): number {
    return Math.floor(this.deps.clock().getTime() / 1000);
  }

  async register(input: RegisterBody, options: { sendVerificationCode?: boolean } = {}): Promise<UserRecord> {
    const email = normaliseEmail(input.email);
    const errors: FieldErrors = {};
    const weak = passwordProblems(input.password, email);
    if (weak.length > 0) errors.password = weak;
    const dobProblem = birthDateProblem(input.date_of_birth, this.deps.clock());
    if (dobProblem) errors.date_of_birth = [dobProblem];
    if (await this.users.findByEmail(email)) errors.email = [DUPLICATE_EMAIL];
    if (Object.keys(errors).length > 0) throw validationError(errors);

    let user: UserRecord;
    try {
      user = await this.users.createWithProfile(
        {
          email,
          passwordHash: await hashPassword(input.password),
          firstName: input.first_name,
          lastName: input.last_name,
          residency: emptyToNull(input.residency),
          role: input.role as Role,
          country: emptyToNull(input.country),
          dateOfBirth: input.date_of_birth,
          gender: emptyToNull(input.gender),
        },
        this.deps.clock().toISOString(),
      );
    } catch (error) {
      // Two registrations racing for one email: the unique index decides, the loser gets the same 400.
      if (isUniqueViolation(error)) throw validationError({ email: [DUPLICATE_EMAIL] });
      throw error;
    }
    // The account exists either way; a code that could not be queued can be asked for again.
    if (options.sendVerificationCode === false) return user;
    await this.deps
      .onRegistered(user)
      .catch((error: unknown) => this.deps.log.error({ err: error, userId: user.id }, 'could not queue the verification code'));
    return user;
  }

  /** The active user owning these credentials, or a 401 that does not say which part was wrong. */
  async authenticate(emailInput: string, password: string): Promise<UserRecord> {
    const user = await this.users.findByEmail(normaliseEmail(emailInput));
    const { valid, rehash } = await this.deps.passwords.check(user?.passwordHash, password);
    if (!user || !valid || !user.isActive) {
      throw new CredentialError(
        401,
        { detail: NO_ACTIVE_ACCOUNT, code: 'no_active_account' },
        { 'WWW-Authenticate': 'Bearer realm="api"' },
      );
    }
    await this.users.recordLogin(user.id, this.deps.clock().toISOString());
    if (rehash) {
      // An imported Django hash: replaced by castfolio's own now that the password is known.
      await this.users.replacePasswordHash(user.id, user.passwordHash, await hashPassword(password));
      this.deps.log.info({ userId: user.id }, 'imported password hash replaced by argon2id');
    }
    return user;
  }

  async obtainTokens(email: string, password: string): Promise<{ user: UserRecord; tokens: TokenPair }> {
    const user = await this.authenticate(email, password);
    return { user, tokens: await this.deps.tokens.issuePair(user.id, { generation: user.sessionGeneration }) };
  }

  /** A sign-in for one role: the user, a token pair and the stored name of the role's profile picture. */
  async loginAs(role: Role, email: string, password: string): Promise<{ user: UserRecord; tokens: TokenPair; picture: string | null }> {
    const { user, tokens } = await this.obtainTokens(email, password);
    const hasRole = role === 'talent' ? user.isTalent : user.isBackground;
    if (!hasRole) {
      throw new ApiError(403, { message: `This account is not registered as ${role === 'talent' ? 'Talent' : 'Background'}` });
    }
    return { user, tokens, picture: await this.users.profilePicture(user.id, role) };
  }

  /** A token of an earlier session generation (before the last password reset or change) no longer counts. */
  private fromEndedGeneration(claims: TokenClaims, user: UserRecord): boolean {
    return (claims.gen ?? 0) !== user.sessionGeneration;
  }

  /** The claims and user of a refresh token that may still be used. */
  private async liveRefresh(refreshToken: string): Promise<{ claims: TokenClaims; user: UserRecord }> {
    const claims = await this.deps.tokens.verify(refreshToken, 'refresh');
    if (!claims) throw authenticationFailed('Token is invalid or expired', 'token_not_valid');
    const user = await this.users.findById(claims.user_id);
    if (!user || !user.isActive) {
      throw authenticationFailed('No active account found for the given token.', 'no_active_account');
    }
    if (this.fromEndedGeneration(claims, user)) throw authenticationFailed('Token is invalid or expired', 'token_not_valid');
    const revocations = this.deps.revocations;
    if (revocations && claims.fam && (await revocations.isFamilyRevoked(claims.fam))) {
      throw authenticationFailed('Token is blacklisted', 'token_not_valid');
    }
    return { claims, user };
  }

  /**
   * With rotation (REFRESH_TOKEN_ROTATION=true) each refresh token works once: it is revoked as it is exchanged
   * for a new pair of the same session. Presenting a revoked one again means it was copied, so the
   * whole session is revoked. The revocation is the atomic step, so two racing refreshes with
   * the same token cannot both succeed.
   */
  async refresh(refreshToken: string): Promise<{ access: string; refresh?: string }> {
    const { claims, user } = await this.liveRefresh(refreshToken);
    const revocations = this.deps.revocations;
    const generation = user.sessionGeneration;
    const expires = isoFromSeconds(claims.exp);
    if (!this.deps.rotateRefreshTokens) {
      if (await revocations.isRevoked(claims.jti)) throw authenticationFailed('Token is blacklisted', 'token_not_valid');
      return { access: await this.deps.tokens.issue(user.id, 'access', { generation, family: claims.fam }) };
    }
    if (!(await revocations.revoke(claims.jti, claims.fam ?? null, 'rotated', expires))) {
      if (claims.fam) await revocations.revokeFamily(claims.fam, this.familyRevocationExpiry());
      this.deps.log.warn({ userId: user.id, family: claims.fam }, 'a rotated refresh token was used again; the session is revoked');
      throw authenticationFailed('Token is blacklisted', 'token_not_valid');
    }
    return this.deps.tokens.issuePair(user.id, { generation, family: claims.fam });
  }

  /**
   * Ends the session an access token belongs to (sign-out without a refresh token, as the live web
   * app does it): every token of that sign-in, access and refresh, stops working at once.
   */
  async logoutSession(accessToken: string): Promise<void> {
    // The same checks as any authenticated request (signature, user, generation, ended session).
    await this.userForAccessToken(accessToken);
    const claims = await this.deps.tokens.verify(accessToken, 'access');
    if (!claims?.fam) return;
    await this.deps.revocations.revokeFamily(claims.fam, this.familyRevocationExpiry());
  }

  /** Ends the session of a refresh token: the token and every rotation of it stop working. */
  async logout(refreshToken: string): Promise<void> {
    const { claims } = await this.liveRefresh(refreshToken);
    const revocations = this.deps.revocations;
    await revocations.revoke(claims.jti, claims.fam ?? null, 'logout', isoFromSeconds(claims.exp));
    if (claims.fam) await revocations.revokeFamily(claims.fam, this.familyRevocationExpiry());
  }

  /** No token of a revoked session is issued after its revocation, so the last one expires within a lifetime. */
  private familyRevocationExpiry(): string {
    return isoFromSeconds(this.nowSeconds() + this.deps.refreshTtlSeconds + 60);
  }

  /** For the authentication hook: the active user an access token belongs to. */
  async userForAccessToken(token: string): Promise<UserRecord> {
    const claims = await this.deps.tokens.verify(token, 'access');
    if (!claims) throw invalidToken('access');
    // Tokens carrying their session are checked against sign-outs in the same query.
    const found = claims.fam ? await this.users.findInSession(claims.user_id, claims.fam) : undefined;
    const user = claims.fam ? found?.user : await this.users.findById(claims.user_id);
    if (!user) throw userNotFound();
    if (found?.sessionRevoked) throw invalidToken('access');
    if (!user.isActive) throw authenticationFailed('User is inactive', 'user_inactive');
    if (this.fromEndedGeneration(claims, user)) throw invalidToken('access');
    return user;
  }

  /** A new password: every earlier token stops working, and a fresh pair is returned. */
  async changePassword(user: UserRecord, oldPassword: string, newPassword: string): Promise<TokenPair> {
    if (!(await this.deps.passwords.check(user.passwordHash, oldPassword)).valid) {
      throw new CredentialError(400, { old_password: ['Your old password was entered incorrectly. Please enter it again.'] });
    }
    const problems = passwordProblems(newPassword, user.email);
    if (problems.length > 0) throw validationError({ new_password: problems });
    // A new session generation: every token issued so far stops working, the new pair belongs to it.
    const generation = await this.users.setPassword(user.id, await hashPassword(newPassword), this.deps.clock().toISOString());
    // The account was deleted while the new password was being hashed: what its next request gets.
    if (generation === undefined) throw userNotFound();
    return this.deps.tokens.issuePair(user.id, { generation });
  }

  /** DELETE /api/account/: the password confirms it is really the user. */
  async deleteAccount(user: UserRecord, password: string): Promise<void> {
    if (!(await this.deps.passwords.check(user.passwordHash, password)).valid)
      throw new CredentialError(400, { password: ['Incorrect password.'] });
    await this.deleteUser(user.id);
  }

  /**
   * Removes the user with their profile, items and subscriptions, then every file they had:
   * the names are queued in the deleting transaction, so a failed delete is retried, never lost.
   */
  async deleteUser(userId: number): Promise<void> {
    const deleted = await this.users.deleteWithMedia(userId, this.deps.clock().toISOString());
    if (deleted === undefined) throw notFound('No such user.');
    const { log } = this.deps;
    await this.deps.deletions.purge(deleted.names);
    await this.deps
      .onDeleted(deleted.email)
      .catch((error: unknown) => log.warn({ err: error, userId }, 'could not remove kept mails of a deleted user'));
    log.info({ userId, files: deleted.names.length }, 'user deleted');
  }
}
