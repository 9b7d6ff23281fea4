import { describe, expect, it } from 'vitest';
import { TokenService } from '../../src/auth/tokens.js';

// shared/django-source-schema.md §4: a SimpleJWT access token for user 42, key below, exp 1760001800.
const DJANGO_KEY = 'test-django-secret-key-for-fixtures';
const DJANGO_ACCESS =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ0b2tlbl90eXBlIjoiYWNjZXNzIiwiZXhwIjoxNzYwMDAxODAwLCJpYXQiOjE3NjAwMDAwMDAsImp0aSI6IjAxMjM0NTY3ODlhYmNkZWYwMTIzNDU2Nzg5YWJjZGVmIiwidXNlcl9pZCI6NDJ9.1ZDWf78Byh-iqDSkB80g3fQE0RlgFOaF-36xUfOJRJ0';
const SECRET = 'castfolio-test-secret-0123456789abcdef0123456789';
const at = (seconds: number) => () => new Date(seconds * 1000);

describe('tokens a Django installation issued', () => {
  it('are accepted with LEGACY_JWT_SECRET until the cut-over ends, with their claims', async () => {
    const tokens = new TokenService(SECRET, { access: 60, refresh: 60 }, at(1760000500), {
      secret: DJANGO_KEY,
      until: new Date(1760001000_000),
    });
    expect(await tokens.verify(DJANGO_ACCESS, 'access')).toMatchObject({
      token_type: 'access',
      user_id: 42,
      jti: '0123456789abcdef0123456789abcdef',
    });
    expect(await tokens.verify(DJANGO_ACCESS, 'refresh')).toBeUndefined();
  });

  it('are refused without the key, after the end date, after their own expiry, or with another key', async () => {
    const until = new Date(1760001000_000);
    expect(await new TokenService(SECRET, { access: 60, refresh: 60 }, at(1760000500)).verify(DJANGO_ACCESS, 'access')).toBeUndefined();
    expect(
      await new TokenService(SECRET, { access: 60, refresh: 60 }, at(1760001000), { secret: DJANGO_KEY, until }).verify(
        DJANGO_ACCESS,
        'access',
      ),
    ).toBeUndefined();
    const late = { secret: DJANGO_KEY, until: new Date(1770000000_000) };
    expect(
      await new TokenService(SECRET, { access: 60, refresh: 60 }, at(1760001800), late).verify(DJANGO_ACCESS, 'access'),
    ).toBeUndefined();
    const other = { secret: 'another-django-secret-key', until };
    expect(
      await new TokenService(SECRET, { access: 60, refresh: 60 }, at(1760000500), other).verify(DJANGO_ACCESS, 'access'),
    ).toBeUndefined();
  });

  it('stop working at the end date even after they were accepted once', async () => {
    let now = 1760000500;
    const tokens = new TokenService(SECRET, { access: 60, refresh: 60 }, () => new Date(now * 1000), {
      secret: DJANGO_KEY,
      until: new Date(1760001000_000),
    });
    expect(await tokens.verify(DJANGO_ACCESS, 'access')).toBeDefined();
    now = 1760001001;
    expect(await tokens.verify(DJANGO_ACCESS, 'access')).toBeUndefined();
  });
});
