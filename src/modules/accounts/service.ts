import { hashPassword, passwordProblems, verifyPassword } from '../../auth/passwords.js';
import type { TokenPair, TokenService } from '../../auth/tokens.js';
import { isUniqueViolation } from '../../db/index.js';
import type { FastifyBaseLogger } from 'fastify';
import { ApiError, authenticationFailed, invalidToken, notFound, validationError, type FieldErrors } from '../../errors.js';
import type { MediaService } from '../media/service.js';
import { birthDateProblem, normaliseEmail } from '../common.js';
import type { Role } from '../subscriptions/plans.js';
import type { UserRecord, UserRepository } from './repository.js';
import type { RegisterBody } from './schemas.js';

const DUPLICATE_EMAIL = 'A user with this email already exists.';
export const NO_ACTIVE_ACCOUNT = 'No active account found with the given credentials';

const emptyToNull = (value: string | undefined): string | null => (value === undefined || value === '' ? null : value);

export class AccountService {
  constructor(
    private readonly users: UserRepository,
    private readonly tokens: TokenService,
    private readonly clock: () => Date,
    private readonly media?: Pick<MediaService, 'purge'>,
  ) {}

  /**
   * Removes the user with their profile, items and subscriptions, then every file they had:
   * the names are queued in the deleting transaction, so a failed delete is retried, never lost.
   */
  async deleteUser(userId: number, log: FastifyBaseLogger): Promise<void> {
    const names = await this.users.deleteWithMedia(userId, this.clock().toISOString());
    if (names === undefined) throw notFound('No such user.');
    if (this.media) await this.media.purge(names, log);
    log.info({ userId, files: names.length }, 'user deleted');
  }

  async register(input: RegisterBody): Promise<UserRecord> {
    const email = normaliseEmail(input.email);
    const errors: FieldErrors = {};
    const weak = passwordProblems(input.password, email);
    if (weak.length > 0) errors.password = weak;
    const dobProblem = birthDateProblem(input.date_of_birth, this.clock());
    if (dobProblem) errors.date_of_birth = [dobProblem];
    if (await this.users.findByEmail(email)) errors.email = [DUPLICATE_EMAIL];
    if (Object.keys(errors).length > 0) throw validationError(errors);

    try {
      return await this.users.createWithProfile(
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
        this.clock().toISOString(),
      );
    } catch (error) {
      // Two registrations racing for one email: the unique index decides, the loser gets the same 400.
      if (isUniqueViolation(error)) throw validationError({ email: [DUPLICATE_EMAIL] });
      throw error;
    }
  }

  /** The active user owning these credentials, or a 401 that does not say which part was wrong. */
  async authenticate(emailInput: string, password: string): Promise<UserRecord> {
    const user = await this.users.findByEmail(normaliseEmail(emailInput));
    const valid = await verifyPassword(user?.passwordHash, password);
    if (!user || !valid || !user.isActive) throw authenticationFailed(NO_ACTIVE_ACCOUNT, 'no_active_account');
    await this.users.recordLogin(user.id, this.clock().toISOString());
    return user;
  }

  async obtainTokens(email: string, password: string): Promise<{ user: UserRecord; tokens: TokenPair }> {
    const user = await this.authenticate(email, password);
    return { user, tokens: await this.tokens.issuePair(user.id) };
  }

  async loginAs(role: Role, email: string, password: string) {
    const { user, tokens } = await this.obtainTokens(email, password);
    const hasRole = role === 'talent' ? user.isTalent : user.isBackground;
    if (!hasRole) {
      throw new ApiError(403, { message: `This account is not registered as ${role === 'talent' ? 'Talent' : 'Background'}` });
    }
    return {
      ...tokens,
      is_talent: user.isTalent,
      is_background: user.isBackground,
      user: { id: user.id, email: user.email, first_name: user.firstName, last_name: user.lastName },
    };
  }

  async refresh(refreshToken: string): Promise<{ access: string }> {
    const claims = await this.tokens.verify(refreshToken, 'refresh');
    if (!claims) throw authenticationFailed('Token is invalid or expired', 'token_not_valid');
    const user = await this.users.findById(claims.user_id);
    if (!user || !user.isActive) {
      throw authenticationFailed('No active account found for the given token.', 'no_active_account');
    }
    return { access: await this.tokens.issue(user.id, 'access') };
  }

  /** For the authentication hook: the active user an access token belongs to. */
  async userForAccessToken(token: string): Promise<UserRecord> {
    const claims = await this.tokens.verify(token, 'access');
    if (!claims) throw invalidToken('access');
    const user = await this.users.findById(claims.user_id);
    if (!user) throw authenticationFailed('User not found', 'user_not_found');
    if (!user.isActive) throw authenticationFailed('User is inactive', 'user_inactive');
    return user;
  }
}
