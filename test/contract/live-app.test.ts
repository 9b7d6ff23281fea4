import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, startTestApp, type TestApp } from '../helpers/app.js';
import { DATABASES } from '../helpers/databases.js';
import type { Http } from '../helpers/http.js';
import { jpeg } from '../helpers/images.js';
import { startSmtpServer } from '../helpers/smtp.js';

/**
 * The requests the live web app (ezaldin-khaled/GAN7, src/api/axios.js and the pages that call
 * it) makes, as it makes them: the same method, URL, body and headers. Its axios instance sends
 * `Content-Type: application/json`, `Accept: application/json` and the bearer token from
 * localStorage "access", and never a role header. Each test asserts the response fields the app
 * reads. Written from reading the app; none of its code is here.
 */
class LiveApp {
  access: string | undefined;
  refresh: string | undefined;
  constructor(readonly http: Http) {}

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return { Accept: 'application/json', ...(this.access ? { Authorization: `Bearer ${this.access}` } : {}), ...extra };
  }

  get(path: string) {
    return this.http.request('GET', path, { headers: this.headers() });
  }

  post(path: string, json?: unknown) {
    return json === undefined
      ? this.http.request('POST', path, { headers: this.headers() })
      : this.http.request('POST', path, { json, headers: this.headers() }); // Http sends Content-Type: application/json
  }

  upload(path: string, form: FormData) {
    return this.http.request('POST', path, { form, headers: this.headers() });
  }

  delete(path: string) {
    return this.http.request('DELETE', path, { headers: this.headers() });
  }
}

/** The sign-up form's body (authentication.jsx registerData). */
const signUp = (email: string, role: 'talent' | 'background') => ({
  first_name: 'Lina',
  last_name: 'Haddad',
  email,
  password: 'Stage-Door-2026',
  gender: 'Female',
  date_of_birth: '1994-02-11',
  country: 'Jordan',
  residency: 'Amman',
  role,
  account_type: role,
});

for (const db of DATABASES) {
  describe.skipIf(db.skipReason)(`the live web app’s requests on ${db.label}`, () => {
    let t: TestApp;
    let smtp: Awaited<ReturnType<typeof startSmtpServer>>;
    beforeAll(async () => {
      smtp = await startSmtpServer();
      t = await startTestApp(db, { env: { SMTP_URL: smtp.url, OUTBOX_INTERVAL: '1' } });
    });
    afterAll(async () => {
      await t?.close();
      await smtp?.close();
    });

    it('talent: sign up, sign in, verify, load and edit the profile, social links, picture, refresh, sign out', async () => {
      const app = new LiveApp(t.http);
      const email = `lina-${Date.now()}@example.com`;

      const registered = await app.post('/api/register/', signUp(email, 'talent'));
      expect(registered.status).toBe(201);
      expect(registered.body.success).toBe(true);
      const again = await app.post('/api/register/', signUp(email, 'talent'));
      expect(again.status).toBe(400);
      expect(again.body.errors.email[0]).toBe('A user with this email already exists.');

      const wrong = await app.post('/api/login/talent/', { email, password: 'not-the-password' });
      expect(wrong.status).toBe(400);
      expect(wrong.body.message).toBe('Login failed');

      const login = await app.post('/api/login/talent/', { email, password: 'Stage-Door-2026' });
      expect(login.status).toBe(200);
      expect(login.body).toMatchObject({
        email,
        first_name: 'Lina',
        last_name: 'Haddad',
        email_verified: false,
        profile_picture: null,
        is_talent: true,
        is_background: false,
      });
      expect(login.body.id).toEqual(expect.any(Number));
      app.access = login.body.access;
      app.refresh = login.body.refresh;

      // UserAccountPage: verify with the code from the mail, after a wrong one.
      const code = await smtp.codeFor(email);
      const bad = await app.post('/api/verify-code/', { email, code: code === '000000' ? '111111' : '000000' });
      expect(bad.status).toBe(400);
      expect(bad.body.success).toBe(false);
      expect(typeof bad.body.message).toBe('string');
      const verified = await app.post('/api/verify-code/', { email, code });
      expect(verified.status).toBe(200);
      expect(verified.body).toMatchObject({ success: true, message: 'Email verified successfully' });
      const resent = await app.post('/api/resend-code/', { email });
      expect(resent.status).toBe(200);
      expect(resent.body.success).toBe(true);

      // fetchUserData: GET with a cache-busting query, no role header.
      const loaded = await app.get(`/api/profile/talent/?t=${Date.now()}`);
      expect(loaded.status).toBe(200);
      const profile = loaded.body.profile ?? loaded.body;
      expect(profile).toMatchObject({
        email,
        full_name: 'Lina Haddad',
        account_type: 'free',
        country: 'Jordan',
        gender: 'Female',
        date_of_birth: '1994-02-11',
        email_verified: true,
      });
      expect(loaded.body).toMatchObject({ first_name: 'Lina', last_name: 'Haddad', residency: 'Amman', media: [] });
      expect(loaded.body.profile_score.total).toEqual(expect.any(Number));

      // handleSaveChanges: the form's fields, empty ones left out.
      const saved = await app.post('/api/profile/talent/', {
        first_name: 'Lina',
        last_name: 'Haddad-Nasser',
        email,
        country: 'Jordan',
        city: 'Amman',
        residency: 'Aqaba',
        phone: '+962791234567',
        gender: 'Female',
        date_of_birth: '1994-02-11',
        aboutyou: 'Theatre actor and voice artist, Arabic and English, ten years on stage in Amman and Beirut.',
      });
      expect(saved.status).toBe(200);
      expect(saved.body.profile).toMatchObject({
        full_name: 'Lina Haddad-Nasser',
        city: 'Amman',
        phone: '+962791234567',
        residency: 'Aqaba',
      });

      // ProfileTab: social links.
      const noLinks = await app.get('/api/profile/social-media/');
      expect(noLinks.status).toBe(200);
      expect(noLinks.body).toMatchObject({ facebook: null, instagram: null, youtube: null, tiktok: null });
      const links = await app.post('/api/profile/social-media/', {
        facebook: 'https://facebook.com/lina',
        instagram: 'https://instagram.com/lina',
        youtube: '',
        tiktok: '',
      });
      expect(links.status).toBe(200);
      expect(links.body.social_media_links).toMatchObject({
        facebook: 'https://facebook.com/lina',
        instagram: 'https://instagram.com/lina',
        youtube: null,
      });
      const badLink = await app.post('/api/profile/social-media/', { facebook: 'facebook.com/lina' });
      expect(badLink.status).toBe(400);
      expect(badLink.body.error).toBe('Invalid facebook URL format. URLs must start with http:// or https://');
      expect((await app.get('/api/profile/talent/')).body.social_media_links).toMatchObject({ facebook: 'https://facebook.com/lina' });

      // handleImageUpload: multipart with only the picture.
      const form = new FormData();
      form.append('profile_picture', new Blob([await jpeg(800, 1000)], { type: 'image/jpeg' }), 'me.jpg');
      const uploaded = await app.upload('/api/profile/talent/', form);
      expect(uploaded.status).toBe(200);
      expect(uploaded.body.profile.profile_picture).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/media\/profile_pictures\//);
      expect((await t.http.get(new URL(uploaded.body.profile.profile_picture).pathname)).status).toBe(200);

      // axios.js refreshToken(): the sign-in refresh token, every time.
      const first = await t.http.post('/api/token/refresh/', { refresh: app.refresh });
      const second = await t.http.post('/api/token/refresh/', { refresh: app.refresh });
      expect([first.status, second.status]).toEqual([200, 200]);
      app.access = second.body.access;
      expect((await app.get('/api/profile/talent/')).status).toBe(200);

      // Sign-out: an empty POST; the session is over afterwards.
      const out = await app.post('/api/logout/');
      expect(out.status).toBe(200);
      expect(out.body.success).toBe(true);
      expect((await app.get('/api/profile/talent/')).status).toBe(401);
      expect((await t.http.post('/api/token/refresh/', { refresh: app.refresh })).status).toBe(401);
    });

    it('background: sign in, load the profile and items, add and delete an item the app’s way', async () => {
      const app = new LiveApp(t.http);
      const email = `omar-${Date.now()}@example.com`;
      expect((await app.post('/api/register/', signUp(email, 'background'))).status).toBe(201);
      const login = await app.post('/api/login/background/', { email, password: 'Stage-Door-2026' });
      expect(login.status).toBe(200);
      expect(login.body).toMatchObject({ is_background: true, is_talent: false, email });
      app.access = login.body.access;

      const loaded = await app.get(`/api/profile/background/?t=${Date.now()}`);
      expect(loaded.status).toBe(200);
      expect(loaded.body.profile).toMatchObject({ email, country: 'Jordan', account_type: expect.any(String) });
      // The app's account header shows profile.full_name (BackgroundAccountPage.jsx), as the live serializer gives it.
      expect(loaded.body.profile).toMatchObject({ first_name: 'Lina', last_name: 'Haddad', full_name: 'Lina Haddad', residency: 'Amman' });
      expect(loaded.body.profile_score.total).toEqual(expect.any(Number));
      // A talent page's request is still refused to a background account.
      expect((await app.get('/api/profile/talent/')).status).toBe(403);

      const none = await app.get('/api/profile/background/items/');
      expect(none.status).toBe(200);
      expect(none.body.items).toEqual(expect.any(Object));

      // BackgroundBillingTab: plans and subscriptions, read from castfolio's own data.
      expect((await app.get('/api/payments/subscriptions/')).body).toEqual([]);
      expect((await cli(t, 'subscription', 'grant', email, 'background_jobs')).code).toBe(0);
      const plans = await app.get('/api/payments/plans/');
      expect(plans.status).toBe(200);
      expect(plans.body).toEqual([
        expect.objectContaining({ name: 'background_jobs', price: '300.00', duration_months: 12, is_active: true }),
      ]);
      const subscriptions = await app.get('/api/payments/subscriptions/');
      expect(subscriptions.body).toEqual([
        expect.objectContaining({ plan_name: 'background_jobs', status: 'active', is_active: true, plan_price: '300.00' }),
      ]);
      // Checkout is not served here, and says so in DRF's shape.
      const checkout = await app.post('/api/payments/create-checkout-session/', { plan_id: 1 });
      expect(checkout.status).toBe(404);
      expect(checkout.body).toMatchObject({
        code: 'payments_not_available',
        detail: expect.stringContaining('not handled by this server'),
      });
      const form = new FormData();
      form.append('item_type', 'prop');
      form.append('name', 'Brass oil lamp');
      form.append('description', 'Working 1920s oil lamp');
      form.append('price', '40');
      form.append('is_for_rent', 'true');
      form.append('image', new Blob([await jpeg(600, 600)], { type: 'image/jpeg' }), 'lamp.jpg');
      const created = await app.upload('/api/profile/background/items/', form);
      expect(created.status).toBe(201);
      const listed = await app.get('/api/profile/background/items/');
      const props = listed.body.items.prop as { id: number; name: string }[];
      expect(props.map((p) => p.name)).toEqual(['Brass oil lamp']);

      // ItemGalleryTab's delete: it tries URL shapes in turn until one answers; the live one is type/id.
      const id = props[0]!.id;
      expect((await app.delete(`/api/profile/background/items/${id}/`)).status).toBe(404);
      expect((await app.delete(`/api/profile/background/items/prop/${id}/`)).status).toBe(204);
      expect((await app.get('/api/profile/background/items/')).body.items.prop ?? []).toEqual([]);
    });
  });
}
