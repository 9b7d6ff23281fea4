import { hash, verify } from '@node-rs/argon2';
import { dictionary } from '@zxcvbn-ts/language-common';

// Defaults of @node-rs/argon2 are argon2id, 19 MiB, 2 passes: OWASP's recommended minimum.
const ARGON2_OPTIONS = { memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;

const PASSWORD_MIN_LENGTH = 8;
export const PASSWORD_MAX_LENGTH = 128;

// Django's CommonPasswordValidator checks 20 000 leaked passwords; zxcvbn-ts's maintained list
// holds about 49 000 (it includes those), plus this product's own name.
const COMMON_PASSWORDS = new Set<string>([...dictionary['passwords-common'], 'castfolio']);

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

export async function verifyPassword(passwordHash: string | undefined, password: string): Promise<boolean> {
  if (passwordHash === undefined) {
    dummyHash ??= hashPassword('castfolio-timing-equaliser');
    await verify(await dummyHash, password).catch(() => false);
    return false;
  }
  return verify(passwordHash, password).catch(() => false);
}
