import type { Log } from '../../log.js';
import type { Kysely } from 'kysely';
import { hashPassword, passwordProblems } from '../../auth/passwords.js';
import type { AccountsConfig } from '../../config.js';
import type { Database } from '../../db/types.js';
import { CredentialError, validationError } from '../../errors.js';
import { normaliseEmail } from '../../auth/email.js';
import { enqueueMail, type MailService } from '../mail/service.js';
import { passwordResetMail, verificationMail } from '../mail/templates.js';
import { CodeRepository, hashCode, MAX_CODE_ATTEMPTS, newCode, sameHash, type CodePurpose } from './codes.js';
import type { UserRecord, UserRepository } from './repository.js';

/** One mail per minute per address and purpose, whatever is asked. */
const RESEND_INTERVAL_MS = 60_000;

const INVALID_CODE = 'Invalid or expired code.';
const SPENT_CODE = `Too many wrong attempts (${MAX_CODE_ATTEMPTS}). Request a new code.`;

/**
 * Email verification and password reset by 6-digit codes. Codes are single use, expire, allow
 * five tries, and are stored as keyed hashes. Mails go through the outbox, so a request never
 * waits on (or fails because of) the mail server, and the answers never reveal whether an
 * address has an account.
 */
export class AccountLifecycle {
  readonly #codes: CodeRepository;

  constructor(
    private readonly deps: {
      db: Kysely<Database>;
      users: UserRepository;
      mail: MailService;
      config: AccountsConfig;
      /** Base of links in mails; configuration only, never anything a request carries. */
      webUrl: () => string;
      appName: string;
      /** Keys the code hashes. */
      secret: string;
      clock: () => Date;
      log: Log;
    },
  ) {
    this.#codes = new CodeRepository(deps.db);
  }

  private now(): Date {
    return this.deps.clock();
  }

  /** Stores a new code and queues its mail in one transaction, then nudges the outbox. */
  private async issue(user: UserRecord, purpose: CodePurpose): Promise<void> {
    const code = newCode();
    const now = this.now();
    const ttl = purpose === 'email_verification' ? this.deps.config.verificationCodeTtlSeconds : this.deps.config.passwordResetTtlSeconds;
    const expires = new Date(now.getTime() + ttl * 1000).toISOString();
    const base = this.deps.webUrl().replace(/\/+$/, '');
    const link = `${base}/#reset?email=${encodeURIComponent(user.email)}&code=${code}`;
    const mail =
      purpose === 'email_verification'
        ? verificationMail(this.deps.appName, user.email, code, ttl)
        : passwordResetMail(this.deps.appName, user.email, code, ttl, link);
    await this.deps.db.transaction().execute(async (trx) => {
      await this.#codes.issue(trx, user.id, purpose, hashCode(this.deps.secret, purpose, user.id, code), expires, now.toISOString());
      await enqueueMail(trx, mail, now.toISOString());
    });
    this.deps.mail.kick();
  }

  private async recentlySent(user: UserRecord, purpose: CodePurpose): Promise<boolean> {
    const last = await this.#codes.lastIssuedAt(user.id, purpose);
    return last !== undefined && this.now().getTime() - Date.parse(last) < RESEND_INTERVAL_MS;
  }

  /** Registration: the first verification code. */
  async sendFirstCode(user: UserRecord): Promise<void> {
    await this.issue(user, 'email_verification');
  }

  async resendVerification(emailInput: string): Promise<void> {
    const user = await this.deps.users.findByEmail(normaliseEmail(emailInput));
    if (!user || user.emailVerified || !user.isActive) return;
    if (await this.recentlySent(user, 'email_verification')) return;
    await this.issue(user, 'email_verification');
  }

  /** Checks a code, counting the try first; returns the code's id on success, throws a 400 otherwise. */
  private async consume(user: UserRecord | undefined, purpose: CodePurpose, code: string): Promise<number> {
    const wrong = (message: string) => new CredentialError(400, { code: [message] });
    if (!user) throw wrong(INVALID_CODE);
    const now = this.now().toISOString();
    const claimed = await this.#codes.claimAttempt(user.id, purpose, now);
    if (!claimed) throw wrong(INVALID_CODE);
    if (!sameHash(claimed.codeHash, hashCode(this.deps.secret, purpose, user.id, code))) {
      throw wrong(claimed.attempts >= MAX_CODE_ATTEMPTS ? SPENT_CODE : INVALID_CODE);
    }
    return claimed.id;
  }

  async verifyEmail(emailInput: string, code: string): Promise<void> {
    const user = await this.deps.users.findByEmail(normaliseEmail(emailInput));
    const id = await this.consume(user, 'email_verification', code);
    const now = this.now().toISOString();
    await this.deps.db.transaction().execute(async (trx) => {
      if (!(await this.#codes.markUsed(trx, id, now))) throw validationError({ code: [INVALID_CODE] });
      await this.deps.users.setEmailVerified((user as UserRecord).id, true, now, trx);
    });
  }

  async requestPasswordReset(emailInput: string): Promise<void> {
    const user = await this.deps.users.findByEmail(normaliseEmail(emailInput));
    if (!user || !user.isActive) return;
    if (await this.recentlySent(user, 'password_reset')) return;
    await this.issue(user, 'password_reset');
  }

  /** A new password from a reset code; every session of the user ends. */
  async confirmPasswordReset(emailInput: string, code: string, newPassword: string): Promise<void> {
    const email = normaliseEmail(emailInput);
    const problems = passwordProblems(newPassword, email);
    if (problems.length > 0) throw validationError({ new_password: problems });
    const user = await this.deps.users.findByEmail(email);
    const id = await this.consume(user, 'password_reset', code);
    const now = this.now().toISOString();
    const account = user as UserRecord;
    // Hashed before the transaction opens: argon2 takes tens of milliseconds.
    const hash = await hashPassword(newPassword);
    await this.deps.db.transaction().execute(async (trx) => {
      if (!(await this.#codes.markUsed(trx, id, now))) throw validationError({ code: [INVALID_CODE] });
      // An account deleted meanwhile: its code is no good any more (and the transaction rolls back).
      if ((await this.deps.users.setPassword(account.id, hash, now, trx)) === undefined) throw validationError({ code: [INVALID_CODE] });
    });
    this.deps.log.info({ userId: account.id }, 'password reset; every earlier token revoked');
  }
}
