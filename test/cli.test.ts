import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli as runIn, startTestApp, type TestApp } from './helpers/app.js';
import { DATABASES } from './helpers/databases.js';
import { createUser } from './helpers/factories.js';

for (const target of DATABASES) {
  describe.skipIf(target.skipReason)(`admin CLI on ${target.label}`, () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp(target);
    });
    afterAll(async () => t?.close());

    const cli = (...argv: string[]) => runIn(t, ...argv);

    it('migrate status lists the applied migrations', async () => {
      const result = await cli('migrate', 'status');
      expect(result.code).toBe(0);
      expect(result.out).toMatch(/applied\s+0001_initial/);
      expect((await cli('migrate')).out).toBe('Database is up to date.');
    });

    it('user create makes an account that can sign in', async () => {
      const result = await cli(
        'user',
        'create',
        '--email',
        'Cli.User@Example.com',
        '--password',
        'Cli-Password-9',
        '--role',
        'talent',
        '--first-name',
        'Cli',
        '--last-name',
        'User',
        '--date-of-birth',
        '1990-04-01',
      );
      expect(result.code).toBe(0);
      expect(result.out).toContain('created talent user cli.user@example.com');
      const login = await t.http.post('/api/login/talent/', { email: 'cli.user@example.com', password: 'Cli-Password-9' });
      expect(login.status).toBe(200);
    });

    it('user create refuses what registration refuses, with the field named', async () => {
      await expect(
        cli(
          'user',
          'create',
          '--email',
          'young@example.com',
          '--password',
          'Cli-Password-9',
          '--role',
          'talent',
          '--first-name',
          'A',
          '--last-name',
          'B',
          '--date-of-birth',
          '2020-01-01',
        ),
      ).rejects.toMatchObject({ body: { date_of_birth: ['You must be at least 18 years old.'] } });
    });

    it('user verify-email marks the email verified', async () => {
      const user = await createUser(t.http, 'talent');
      expect((await cli('user', 'verify-email', user.email.toUpperCase())).code).toBe(0);
      const profile = await t.http.get('/api/profile/talent/', user.headers);
      expect(profile.body.profile.email_verified).toBe(true);
    });

    it('subscription grant and revoke change what the API reports', async () => {
      const user = await createUser(t.http, 'background');
      const granted = await cli('subscription', 'grant', user.email, 'background_jobs', '--months', '3');
      expect(granted.code).toBe(0);
      expect(granted.out).toContain('granted background_jobs');
      expect((await t.http.get('/api/profile/background/subscription-status/', user.headers)).body.has_subscription).toBe(true);
      expect((await cli('subscription', 'revoke', user.email)).out).toContain('revoked');
      expect((await t.http.get('/api/profile/background/subscription-status/', user.headers)).body.has_subscription).toBe(false);
      expect((await cli('subscription', 'revoke', user.email)).out).toContain('has no active subscription');
    });

    it('gives clear errors for unknown users, unknown plans and plans of the other role', async () => {
      const user = await createUser(t.http, 'background');
      await expect(cli('subscription', 'grant', 'ghost@example.com', 'premium')).rejects.toMatchObject({
        body: { detail: 'No user with email ghost@example.com.' },
      });
      await expect(cli('subscription', 'grant', user.email, 'gold')).rejects.toMatchObject({
        body: { plan: ['Unknown plan "gold". Plans: background_jobs, premium, platinum.'] },
      });
      await expect(cli('subscription', 'grant', user.email, 'premium')).rejects.toMatchObject({
        body: { plan: ['Plan "premium" is for talent users; this user is not one.'] },
      });
      await expect(cli('subscription', 'grant', user.email, 'background_jobs', '--months', '0')).rejects.toMatchObject({
        body: { months: ['Months must be a whole number from 1 to 120.'] },
      });
      await expect(cli('frobnicate')).rejects.toThrow('unknown command "frobnicate"');
    });
  });

  describe.skipIf(target.skipReason)(`admin CLI on a ${target.label} database nothing has migrated`, () => {
    it('says to run migrate, without a stack trace, and works once it ran', async () => {
      const database = await target.create();
      const media = mkdtempSync(path.join(tmpdir(), 'castfolio-cli-'));
      const url = database.config.kind === 'sqlite' ? `sqlite:${database.config.file}` : database.config.url;
      const run = (...argv: string[]) =>
        spawnSync(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, '..', 'src', 'cli.ts'), ...argv], {
          encoding: 'utf8',
          env: { PATH: process.env.PATH ?? '', DATABASE_URL: url, MEDIA_ROOT: media, LOG_LEVEL: 'warn' },
        });
      try {
        const refused = run('user', 'verify-email', 'someone@example.com');
        expect(refused.status).toBe(1);
        expect(refused.stderr.trim()).toMatch(
          /^error: the database has \d+ migration\(s\) not applied \(0001_initial, …\): run "castfolio migrate"/,
        );
        expect(refused.stderr).not.toMatch(/\n\s+at /);
        expect(run('migrate').status).toBe(0);
        const unknown = run('user', 'verify-email', 'someone@example.com');
        expect(unknown.status).toBe(1);
        expect(unknown.stderr.trim()).toBe('detail: No user with email someone@example.com.');
      } finally {
        rmSync(media, { recursive: true, force: true });
        await database.drop();
      }
    }, 60_000);
  });
}
