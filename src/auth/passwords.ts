import { pbkdf2, timingSafeEqual } from 'node:crypto';
import { hash, verify } from '@node-rs/argon2';
import { serviceUnavailable } from '../errors.js';
import { QueueFullError, type WorkLimiter } from '../images/limiter.js';
import type * as Zxcvbn from '@zxcvbn-ts/language-common';
import { createRequire } from 'node:module';

// Defaults of @node-rs/argon2 are argon2id, 19 MiB, 2 passes: OWASP's recommended minimum.
const ARGON2_OPTIONS = { memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;

const PASSWORD_MIN_LENGTH = 8;
export const PASSWORD_MAX_LENGTH = 128;

// Django's CommonPasswordValidator checks 20 000 leaked passwords; zxcvbn-ts's maintained list
// holds about 49 000 (it includes those), plus this product's own name.
// Loaded on the first password check, not at start: the list is a few MB a worker only needs then.
let commonPasswords: Set<string> | undefined;
const COMMON_PASSWORDS = {
  has(password: string): boolean {
    if (!commonPasswords) {
      const { dictionary } = createRequire(import.meta.url)('@zxcvbn-ts/language-common') as typeof Zxcvbn;
      commonPasswords = new Set<string>([...dictionary['passwords-common'], 'castfolio']);
    }
    return commonPasswords.has(password);
  },
};

/** Django's validators, in the same words: a list of problems, empty when the password is fine. */
export function passwordProblems(password: string, email: string): string[] {
  const problems: string[] = [];
  if (password.length < PASSWORD_MIN_LENGTH) {
    problems.push(`This password is too short. It must contain at least ${PASSWORD_MIN_LENGTH} characters.`);
  }
  if (/^\d+$/.test(password)) problems.push('This password is entirely numeric.');
  const lowered = password.toLowerCase();
  const normalisedEmail = email.trim().toLowerCase();
  if (lowered === normalisedEmail || (normalisedEmail.includes('@') && lowered === normalisedEmail.split('@')[0])) {
    problems.push('The password is too similar to the email.');
  }
  if (COMMON_PASSWORDS.has(lowered.trim())) problems.push('This password is too common.');
  return problems;
}

export function hashPassword(password: string): Promise<string> {
  return hash(password, ARGON2_OPTIONS);
}

// A real hash to verify against when the account does not exist, so response time does not reveal it.
let dummyHash: Promise<string> | undefined;

async function equaliseTiming(password: string): Promise<false> {
  dummyHash ??= hashPassword('castfolio-timing-equaliser');
  await verify(await dummyHash, password).catch(() => false);
  return false;
}

/** Django's PBKDF2 hashes: `pbkdf2_sha256$<iterations>$<salt>$<base64 hash>` (and the SHA-1 variant). */
const DJANGO_PBKDF2 = /^pbkdf2_(sha256|sha1)\$(\d{1,8})\$([!-#%-~]{1,128})\$([A-Za-z0-9+/]{20,88}={0,2})$/;
/** Above every Django default (6.0: 1 200 000): a stored value cannot make one check cost minutes. */
const MAX_PBKDF2_ITERATIONS = 5_000_000;

export interface PasswordCheck {
  valid: boolean;
  /** The hash is not castfolio's own (argon2id): store a new one now that the password is known. */
  rehash: boolean;
}

/**
 * Checks passwords against castfolio's argon2id hashes and against the PBKDF2 hashes a Django
 * installation stored (imported accounts), any iteration count. PBKDF2 runs on libuv's thread pool,
 * never on the event loop, at most `limiter.concurrency` at a time: 870 000 iterations cost a few
 * hundred milliseconds of CPU each. Unusable (`!…`) and unrecognised values (the source can hold a
 * plaintext password) never match anything, and cost the same as a wrong argon2 password.
 */
export class PasswordChecker {
  constructor(private readonly limiter: WorkLimiter) {}

  async check(passwordHash: string | undefined, password: string): Promise<PasswordCheck> {
    if (passwordHash?.startsWith('$argon2')) return { valid: await verify(passwordHash, password).catch(() => false), rehash: false };
    const django = passwordHash === undefined ? null : DJANGO_PBKDF2.exec(passwordHash);
    if (!django) return { valid: await equaliseTiming(password), rehash: false };
    const [, digest, iterations, salt, encoded] = django as unknown as [string, 'sha256' | 'sha1', string, string, string];
    const expected = Buffer.from(encoded, 'base64');
    const rounds = Number(iterations);
    if (rounds < 1 || rounds > MAX_PBKDF2_ITERATIONS || expected.length !== (digest === 'sha256' ? 32 : 20)) {
      return { valid: await equaliseTiming(password), rehash: false };
    }
    const derived = await this.limiter
      .run(
        () =>
          new Promise<Buffer>((resolve, reject) =>
            pbkdf2(Buffer.from(password, 'utf8'), Buffer.from(salt, 'utf8'), rounds, expected.length, digest, (error, key) =>
              error ? reject(error) : resolve(key),
            ),
          ),
      )
      .catch((error: unknown) => {
        if (error instanceof QueueFullError) throw serviceUnavailable('The server is busy checking passwords. Please retry shortly.', 2);
        throw error;
      });
    const valid = timingSafeEqual(derived, expected);
    return { valid, rehash: valid };
  }
}
