import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, startTestApp, type TestApp } from '../helpers/app.js';
import { DATABASES } from '../helpers/databases.js';
import { createUser, type TestUser } from '../helpers/factories.js';

const BACKGROUND = '/api/profile/background/';
const TALENT = '/api/profile/talent/';
const DAY_MS = 24 * 60 * 60 * 1000;

for (const target of DATABASES) {
  describe.skipIf(target.skipReason)(`profiles on ${target.label}`, () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp(target);
    });
    afterAll(async () => t?.close());

    describe('background profile', () => {
      let user: TestUser;
      beforeAll(async () => {
        user = await createUser(t.http, 'background');
      });

      it('GET returns profile, profile_score, subscription_status and restrictions as the API guide shows', async () => {
        const res = await t.http.get(BACKGROUND, user.headers);
        expect(res.status).toBe(200);
        // The guide's four keys, then the gallery (additive; the live web app reads it after an upload).
        expect(Object.keys(res.body)).toEqual(['profile', 'profile_score', 'subscription_status', 'restrictions', 'media']);
        expect(res.body.media).toEqual([]);
        expect(res.body.profile).toEqual({
          id: user.id,
          email: user.email,
          username: user.email,
          email_verified: false,
          profile_picture: null,
          profile_picture_info: null,
          country: 'USA',
          date_of_birth: '1985-05-15',
          gender: 'Male',
          account_type: 'free',
          profile_score: 15,
          // The live service's serializer adds the account's names (the live web app shows full_name).
          first_name: expect.any(String),
          last_name: expect.any(String),
          full_name: expect.any(String),
          residency: expect.any(String),
        });
        expect(res.body.profile.full_name).toBe(`${res.body.profile.first_name} ${res.body.profile.last_name}`);
        expect(res.body.profile_score).toMatchObject({
          total: 15,
          account_tier: 0,
          profile_completion: 15,
          item_diversity: 0,
          item_quantity: 0,
        });
        expect(Object.keys(res.body.profile_score.details).sort()).toEqual([
          'account_tier',
          'item_diversity',
          'item_quantity',
          'profile_completion',
        ]);
        expect(res.body.profile_score.improvement_tips.length).toBeGreaterThan(0);
        expect(res.body.subscription_status).toEqual({
          has_subscription: false,
          can_access_features: false,
          message:
            'Background users must have an active subscription to access features. Please subscribe to the Production Assets Pro plan.',
          subscription: null,
        });
        expect(res.body.restrictions).toMatchObject({
          restricted: true,
          subscription_required: true,
          can_share_items: false,
          can_rent_or_sell: false,
          can_upload_media: false,
          can_create_listings: false,
          can_respond_to_job_requests: false,
        });
        expect(res.body.restrictions.restrictions).toHaveLength(5);
      });

      it('also answers without the trailing slash', async () => {
        const res = await t.http.get(BACKGROUND.slice(0, -1), user.headers);
        expect(res.status).toBe(200);
        expect(res.body.profile.id).toBe(user.id);
      });

      it('updates from JSON, then GET shows the change', async () => {
        const res = await t.http.post(BACKGROUND, { country: 'Canada', gender: 'Female' }, user.headers);
        expect(res.status).toBe(200);
        expect(res.body.message).toBe('Background profile updated successfully');
        expect(res.body.profile).toMatchObject({ country: 'Canada', gender: 'Female', date_of_birth: '1985-05-15' });
        const after = await t.http.get(BACKGROUND, user.headers);
        expect(after.body.profile).toMatchObject({ country: 'Canada', gender: 'Female' });
      });

      it('updates from multipart/form-data as the guide sends it', async () => {
        const form = new FormData();
        form.append('country', 'Germany');
        form.append('date_of_birth', '1990-01-31');
        const res = await t.http.request('POST', BACKGROUND, { form, headers: user.headers });
        expect(res.status).toBe(200);
        expect(res.body.profile).toMatchObject({ country: 'Germany', date_of_birth: '1990-01-31' });
      });

      it('updates from application/x-www-form-urlencoded', async () => {
        const res = await t.http.request('POST', BACKGROUND, { urlencoded: { gender: 'Other' }, headers: user.headers });
        expect(res.status).toBe(200);
        expect(res.body.profile.gender).toBe('Other');
      });

      it('ignores read-only and unknown fields like DRF', async () => {
        const res = await t.http.post(
          BACKGROUND,
          { country: 'France', email: 'hacker@example.com', id: 999, account_type: 'back_ground_jobs' },
          user.headers,
        );
        expect(res.status).toBe(200);
        expect(res.body.profile).toMatchObject({ id: user.id, email: user.email, country: 'France', account_type: 'free' });
      });

      it('refuses an update with no field at all', async () => {
        for (const body of [{}, { unrelated: 'x' }]) {
          const res = await t.http.post(BACKGROUND, body, user.headers);
          expect(res.status).toBe(400);
          expect(res.body).toEqual({ non_field_errors: ['At least one field must be provided for update.'] });
        }
        const empty = await t.http.request('POST', BACKGROUND, { headers: user.headers });
        expect(empty.status).toBe(400);
      });

      it('with ?partial=false requires every field', async () => {
        const res = await t.http.post(`${BACKGROUND}?partial=false`, { country: 'Spain' }, user.headers);
        expect(res.status).toBe(400);
        expect(res.body).toEqual({ date_of_birth: ['This field is required.'], gender: ['This field is required.'] });
        const full = await t.http.post(
          `${BACKGROUND}?partial=false`,
          { country: 'Spain', date_of_birth: '1980-02-29', gender: 'Male' },
          user.headers,
        );
        expect(full.status).toBe(200);
        expect(full.body.profile).toMatchObject({ country: 'Spain', date_of_birth: '1980-02-29', gender: 'Male' });
      });

      it('refuses an unknown partial value', async () => {
        const res = await t.http.post(`${BACKGROUND}?partial=maybe`, { country: 'Spain' }, user.headers);
        expect(res.status).toBe(400);
        expect(Object.keys(res.body)).toEqual(['partial']);
      });

      it.each([
        [{ country: 'x'.repeat(26) }, 'country', 'Ensure this field has no more than 25 characters.'],
        [{ date_of_birth: '2023-02-30' }, 'date_of_birth', 'Date has wrong format. Use one of these formats instead: YYYY-MM-DD.'],
        [{ date_of_birth: '1985/05/15' }, 'date_of_birth', 'Date has wrong format. Use one of these formats instead: YYYY-MM-DD.'],
        [{ date_of_birth: '2020-01-01' }, 'date_of_birth', 'You must be at least 18 years old.'],
        [{ date_of_birth: '1850-01-01' }, 'date_of_birth', 'Date of birth must be on or after 1900-01-01.'],
        [{ gender: 'Robot' }, 'gender', '"Robot" is not a valid choice.'],
        [{ country: 12 }, 'country', 'Not a valid string.'],
        [{ country: ['a', 'b'] }, 'country', 'Not a valid string.'],
      ])('refuses %j and changes nothing', async (body, field, message) => {
        const before = await t.http.get(BACKGROUND, user.headers);
        const res = await t.http.post(BACKGROUND, { ...body, gender: (body as { gender?: string }).gender ?? 'Female' }, user.headers);
        expect(res.status).toBe(400);
        expect(res.body[field]).toEqual([message]);
        const after = await t.http.get(BACKGROUND, user.headers);
        expect(after.body.profile).toEqual(before.body.profile);
      });

      it('clears an optional field sent empty', async () => {
        const res = await t.http.post(BACKGROUND, { country: '' }, user.headers);
        expect(res.status).toBe(200);
        expect(res.body.profile.country).toBeNull();
        const after = await t.http.get(BACKGROUND, user.headers);
        expect(after.body.profile_score.profile_completion).toBe(0);
        expect(after.body.profile_score.improvement_tips.join(' ')).toContain('country');
        await t.http.post(BACKGROUND, { country: 'USA' }, user.headers);
      });

      it('stores SQL and script strings as plain text', async () => {
        const hostile = "x'); DROP TABLE users;--";
        const res = await t.http.post(BACKGROUND, { country: hostile }, user.headers);
        expect(res.status).toBe(200);
        expect(res.body.profile.country).toBe(hostile);
        expect((await t.http.get(BACKGROUND, user.headers)).body.profile.country).toBe(hostile);
        await t.http.post(BACKGROUND, { country: 'USA' }, user.headers);
      });
    });

    describe('background subscriptions', () => {
      it('a granted subscription lifts the restrictions and counts in the score until it ends', async () => {
        const user = await createUser(t.http, 'background');
        const granted = await cli(t, 'subscription', 'grant', user.email, 'background_jobs', '--months', '1');
        expect(granted.code).toBe(0);

        const res = await t.http.get(BACKGROUND, user.headers);
        expect(res.body.profile.account_type).toBe('back_ground_jobs');
        expect(res.body.profile_score).toMatchObject({ account_tier: 25, total: 40 });
        expect(res.body.subscription_status).toMatchObject({
          has_subscription: true,
          can_access_features: true,
          message: 'Active subscription',
          subscription: { plan: 'background_jobs', plan_name: 'Production Assets Pro', price: '300.00', status: 'active' },
        });
        expect(res.body.restrictions).toMatchObject({ restricted: false, subscription_required: false, restrictions: [] });

        const status = await t.http.get(`${BACKGROUND}subscription-status/`, user.headers);
        expect(status.status).toBe(200);
        expect(status.body).toEqual(res.body.subscription_status);
        const restrictions = await t.http.get(`${BACKGROUND}restrictions/`, user.headers);
        expect(restrictions.body).toEqual(res.body.restrictions);

        t.clock.advance(32 * DAY_MS);
        try {
          const expired = await t.http.post('/api/token/', { email: user.email, password: user.password });
          const headers = { Authorization: `Bearer ${expired.body.access}`, 'is-background': 'true' };
          const later = await t.http.get(BACKGROUND, headers);
          expect(later.body.profile.account_type).toBe('free');
          expect(later.body.subscription_status.has_subscription).toBe(false);
          expect(later.body.restrictions.restricted).toBe(true);
        } finally {
          t.clock.advance(-32 * DAY_MS);
        }
      });

      it('a revoked subscription restricts again', async () => {
        const user = await createUser(t.http, 'background');
        await cli(t, 'subscription', 'grant', user.email, 'background_jobs');
        expect((await cli(t, 'subscription', 'revoke', user.email)).code).toBe(0);
        const res = await t.http.get(`${BACKGROUND}subscription-status/`, user.headers);
        expect(res.body.has_subscription).toBe(false);
      });
    });

    describe('talent profile', () => {
      let user: TestUser;
      beforeAll(async () => {
        user = await createUser(t.http, 'talent');
      });

      it('GET returns the talent fields and score', async () => {
        const res = await t.http.get(TALENT, user.headers);
        expect(res.status).toBe(200);
        expect(res.body.profile).toEqual({
          id: user.id,
          email: user.email,
          username: user.email,
          email_verified: false,
          profile_picture: null,
          profile_picture_info: null,
          aboutyou: null,
          city: null,
          country: 'USA',
          phone: null,
          date_of_birth: '1985-05-15',
          gender: 'Male',
          account_type: 'free',
          is_verified: false,
          profile_complete: false,
          profile_score: 10,
          first_name: 'Alex',
          last_name: 'Doe',
          full_name: 'Alex Doe',
          residency: 'New York',
        });
        // The live service's shape: the same fields at the top level, and its extras.
        const { profile_score: _total, ...fields } = res.body.profile;
        expect(res.body).toMatchObject(fields);
        expect(res.body).toMatchObject({
          social_media_links: {},
          media: [],
          file_limits: { image_max_mb: 10, video_max_mb: 100 },
          account_limitations: { images_limit: 1, videos_limit: 0, can_custom_url: false },
          upgrade_prompt: { message: 'Upgrade to unlock more features!', upgrade_url: '/pricing' },
        });
        expect(res.body.profile_score).toMatchObject({ total: 10, account_tier: 5, verification: 0, profile_completion: 5 });
        expect(res.body.subscription_status).toMatchObject({ has_subscription: false, can_access_features: true });
        expect(res.body.restrictions).toMatchObject({ restricted: false });
      });

      it('updates talent fields with "Profile updated successfully" and rescores', async () => {
        const about = 'Stage and screen actor with fifteen years of repertory theatre behind me.';
        const res = await t.http.post(TALENT, { aboutyou: about, city: 'Berlin', phone: '+49 30 1234567' }, user.headers);
        expect(res.status).toBe(200);
        expect(res.body.message).toBe('Profile updated successfully');
        expect(res.body.profile).toMatchObject({ aboutyou: about, city: 'Berlin', phone: '+49 30 1234567', profile_score: 15 });
      });

      it('refuses an invalid phone number', async () => {
        const res = await t.http.post(TALENT, { phone: 'call me maybe' }, user.headers);
        expect(res.status).toBe(400);
        expect(res.body).toEqual({ phone: ['Enter a valid phone number, e.g. +1 555 010 2030.'] });
      });

      it('gains 25 points when the email is verified, and a plan raises the tier', async () => {
        expect((await cli(t, 'user', 'verify-email', user.email)).code).toBe(0);
        expect((await cli(t, 'subscription', 'grant', user.email, 'platinum')).code).toBe(0);
        const res = await t.http.get(TALENT, user.headers);
        expect(res.body.profile).toMatchObject({ email_verified: true, is_verified: true, account_type: 'platinum' });
        expect(res.body.profile_score).toMatchObject({ account_tier: 25, verification: 25, profile_completion: 10, total: 60 });
      });
    });

    describe('routing', () => {
      it('answers an unknown path with a JSON 404 and a wrong method with 405', async () => {
        const missing = await t.http.get('/api/nothing-here/');
        expect(missing.status).toBe(404);
        expect(missing.body).toEqual({ detail: 'Not found.' });
        const wrong = await t.http.request('DELETE', '/api/register/');
        expect(wrong.status).toBe(405);
        expect(wrong.body).toEqual({ detail: 'Method "DELETE" not allowed.' });
        expect(wrong.headers.get('allow')).toContain('POST');
      });

      it('answers a photo or a large body sent to a mistyped URL or with the wrong method with 404 or 405, not with the body’s size', async () => {
        const photo = () => {
          const form = new FormData();
          form.append('profile_picture', new Blob([Buffer.alloc(300 * 1024, 7)], { type: 'image/jpeg' }), 'me.jpg');
          return form;
        };
        const missing = await t.http.request('POST', '/api/profile/talnet/', { form: photo() });
        expect(missing.status).toBe(404);
        expect(missing.body).toEqual({ detail: 'Not found.' });
        // Answered early, with the headers every answer has.
        expect(missing.headers.get('x-content-type-options')).toBe('nosniff');
        expect(missing.headers.get('x-request-id')).toBeTruthy();
        const wrong = await t.http.request('PUT', '/api/profile/talent/', { form: photo() });
        expect(wrong.status).toBe(405);
        expect(wrong.body).toEqual({ detail: 'Method "PUT" not allowed.' });
        const json = await t.http.request('POST', '/api/nothing-here/', { json: { bio: 'x'.repeat(100_000) } });
        expect(json.status).toBe(404);
        const form = await t.http.request('POST', '/api/nothing-here/', { urlencoded: { bio: 'x'.repeat(100_000) } });
        expect(form.status).toBe(404);
      });

      it('reports liveness and readiness', async () => {
        expect((await t.http.get('/health')).body).toEqual({ status: 'ok' });
        expect((await t.http.get('/ready')).body).toEqual({ status: 'ready', checks: { database: 'ok', storage: 'ok' } });
      });
    });
  });
}
