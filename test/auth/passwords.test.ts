import { describe, expect, it } from 'vitest';
import { hashPassword, PasswordChecker } from '../../src/auth/passwords.js';
import { WorkLimiter } from '../../src/images/limiter.js';

// The test vectors of shared/django-source-schema.md §3, checked there against Django, hashlib and openssl.
const VECTORS = [
  { password: 'lètmein', hash: 'pbkdf2_sha256$870000$seasalt$wJSpLMQRQz0Dhj/pFpbyjMj71B2gUYp6HJS5AU+32Ac=' },
  {
    password: 'correct horse battery staple',
    hash: 'pbkdf2_sha256$870000$Xq3ZkS0bq7Ck1yWj8uVn4R$/5ZjwyPNqGfTygdV44yxYIHsCBBOWVZKfGZDY3TUoGQ=',
  },
  { password: 'Passw0rd!', hash: 'pbkdf2_sha256$720000$abcdefghijklmnopqrstuv$R1s8J34x6mHqMFbpK84+tV8cTPEvHRlhSFj2fWXlEmM=' },
  { password: 'lètmein', hash: 'pbkdf2_sha1$870000$seasalt$UiqYIlBUWaJY1625aFAwcLy17so=' },
];

describe('password checks', () => {
  const checker = new PasswordChecker(new WorkLimiter(2, 16));

  it.each(VECTORS)('accepts the Django hash $hash with its password, and asks for a rehash', async ({ password, hash }) => {
    expect(await checker.check(hash, password)).toEqual({ valid: true, rehash: true });
    expect(await checker.check(hash, `${password} `)).toEqual({ valid: false, rehash: false });
    expect(await checker.check(hash, password.toUpperCase())).toEqual({ valid: false, rehash: false });
  });

  it('accepts its own argon2id hashes without a rehash', async () => {
    const hash = await hashPassword('Robin-Extra-2026');
    expect(await checker.check(hash, 'Robin-Extra-2026')).toEqual({ valid: true, rehash: false });
    expect(await checker.check(hash, 'robin-extra-2026')).toEqual({ valid: false, rehash: false });
  });

  it('never matches unusable, plaintext, unknown or absurd values', async () => {
    const values = [
      ['!', 'a'.repeat(40)].join(''),
      'lètmein',
      'bcrypt_sha256$$2b$12$abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQ',
      'pbkdf2_sha256$99999999$seasalt$wJSpLMQRQz0Dhj/pFpbyjMj71B2gUYp6HJS5AU+32Ac=',
      'pbkdf2_sha256$870000$seasalt$c2hvcnQ=',
      'pbkdf2_md5$870000$seasalt$wJSpLMQRQz0Dhj/pFpbyjMj71B2gUYp6HJS5AU+32Ac=',
      '',
    ];
    for (const value of values) expect(await checker.check(value, value), value).toEqual({ valid: false, rehash: false });
    expect(await checker.check(undefined, 'anything')).toEqual({ valid: false, rehash: false });
  });

  it('runs at most its bound of Django checks at once and answers 503 beyond the queue', async () => {
    const narrow = new PasswordChecker(new WorkLimiter(1, 1));
    const hash = VECTORS[0]!.hash;
    const results = await Promise.allSettled([narrow.check(hash, 'lètmein'), narrow.check(hash, 'lètmein'), narrow.check(hash, 'lètmein')]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected']);
    expect((results[2] as PromiseRejectedResult).reason).toMatchObject({ statusCode: 503 });
  });
});
