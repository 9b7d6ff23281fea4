import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, expectNoOrphans, startTestApp, storedNames, type TestApp } from '../helpers/app.js';
import { DATABASES } from '../helpers/databases.js';
import { createUser, type TestUser } from '../helpers/factories.js';
import type { HttpResponse } from '../helpers/http.js';
import { isVariantName, jpeg, jpegWithExif } from '../helpers/images.js';
import { STORAGES } from '../helpers/storage.js';

const ITEMS = '/api/profile/background/items/';
const TYPES = ['prop', 'costume', 'location', 'memorabilia', 'vehicle', 'artistic_material', 'music_item', 'rare_item'];

/** A valid item of each type, with its own fields. */
const SAMPLES: Record<string, Record<string, unknown>> = {
  prop: { name: 'Brass telescope', material: 'brass', used_in_movie: 'Treasure Island', condition: 'good' },
  costume: { name: 'Victorian gown', size: 'M', worn_by: 'Jane Doe', era: '1880s' },
  location: { name: 'Loft studio', address: '1 Mill Lane', capacity: 40, is_indoor: true },
  memorabilia: { name: 'Signed script', signed_by: 'A. Director' },
  vehicle: { name: 'Vintage taxi', make: 'Austin', model: 'FX4', year: 1965 },
  artistic_material: { name: 'Oil paints', type: 'paint', condition: 'new' },
  music_item: { name: 'Upright piano', instrument_type: 'piano', used_by: 'Studio band' },
  rare_item: { name: 'Meteorite', provenance: 'Found in 1902', is_one_of_a_kind: true },
};

const PDF = Buffer.from(
  '%PDF-1.4\n1 0 obj <</Type /Catalog /Pages 2 0 R>> endobj\n2 0 obj <</Type /Pages /Kids [] /Count 0>> endobj\ntrailer <</Root 1 0 R>>\n%%EOF\n',
);

function itemForm(fields: Record<string, unknown>, files: Record<string, { bytes: Buffer; name: string; type: string }> = {}) {
  const form = new FormData();
  for (const [key, value] of Object.entries(fields)) form.append(key, String(value));
  for (const [key, file] of Object.entries(files)) form.append(key, new Blob([file.bytes], { type: file.type }), file.name);
  return form;
}

for (const db of DATABASES) {
  for (const store of STORAGES) {
    describe.skipIf(db.skipReason)(`background items on ${db.label} with ${store.name} storage`, () => {
      let t: TestApp;
      let owner: TestUser;
      beforeAll(async () => {
        t = await startTestApp(db, { storage: store });
        owner = await subscribedUser();
      });
      afterAll(async () => t?.close());

      async function subscribedUser(): Promise<TestUser> {
        const user = await createUser(t.http, 'background');
        expect((await cli(t, 'subscription', 'grant', user.email, 'background_jobs')).code).toBe(0);
        return user;
      }

      const create = (user: TestUser, body: Record<string, unknown>) => t.http.post(ITEMS, body, user.headers);

      describe('without a subscription', () => {
        it('lists (empty, every type present) but refuses to create, before reading the body', async () => {
          const user = await createUser(t.http, 'background');
          const list = await t.http.get(ITEMS, user.headers);
          expect(list.status).toBe(200);
          expect(Object.keys(list.body.items)).toEqual(TYPES);
          expect(list.body.total_items).toBe(0);
          expect(list.body.subscription_status).toEqual({
            has_subscription: false,
            can_access_features: false,
            message:
              'Background users must have an active subscription to access features. Please subscribe to the Production Assets Pro plan.',
          });

          const before = await storedNames(t);
          const res = await t.http.request('POST', ITEMS, {
            form: itemForm({ item_type: 'prop', name: 'x' }, { image: { bytes: await jpeg(), name: 'a.jpg', type: 'image/jpeg' } }),
            headers: user.headers,
          });
          expect(res.status).toBe(403);
          expect(res.body.error).toBe('Subscription required');
          expect(res.body.message).toContain('active subscription');
          expect(res.body.restrictions).toMatchObject({ restricted: true, subscription_required: true });
          expect(await storedNames(t)).toEqual(before);
        });

        it('refuses talent users, with or without the role header, and requests declaring another role', async () => {
          const talent = await createUser(t.http, 'talent');
          expect((await t.http.get(ITEMS, { Authorization: `Bearer ${talent.access}`, 'is-background': 'true' })).status).toBe(403);
          expect((await t.http.get(ITEMS, { Authorization: `Bearer ${talent.access}` })).status).toBe(403);
          expect((await t.http.get(ITEMS, { Authorization: `Bearer ${owner.access}`, 'is-talent': 'true' })).status).toBe(403);
          // No role header: the account's role decides.
          expect((await t.http.get(ITEMS, { Authorization: `Bearer ${owner.access}` })).status).toBe(200);
          expect((await t.http.get(ITEMS)).status).toBe(401);
        });
      });

      describe.each(TYPES)('CRUD of a %s', (type) => {
        it('creates, reads, changes and deletes it', async () => {
          const sample = SAMPLES[type]!;
          const created = await create(owner, { item_type: type, ...sample, price: '125.5', is_for_rent: true, genre: 'Period' });
          expect(created.status).toBe(201);
          expect(created.body).toMatchObject({
            item_type: type,
            ...sample,
            price: '125.50',
            is_for_rent: true,
            is_for_sale: false,
            image: null,
          });
          expect(created.body.id).toEqual(expect.any(Number));
          expect(Date.parse(created.body.created_at)).not.toBeNaN();
          const url = `${ITEMS}${type}/${created.body.id}/`;

          const got = await t.http.get(url, owner.headers);
          expect(got.status).toBe(200);
          expect(got.body).toEqual(created.body);

          const patched = await t.http.request('PATCH', url, { json: { description: 'Updated', price: 99 }, headers: owner.headers });
          expect(patched.status).toBe(200);
          expect(patched.body).toMatchObject({ ...sample, description: 'Updated', price: '99.00' });

          const deleted = await t.http.request('DELETE', url, { headers: owner.headers });
          expect(deleted.status).toBe(204);
          expect((await t.http.get(url, owner.headers)).status).toBe(404);
        });
      });

      describe('validation', () => {
        it.each([
          [{ item_type: 'spaceship', name: 'x' }, 'item_type', `Invalid item type. Valid types are: ${TYPES.join(', ')}.`],
          [{ name: 'x' }, 'item_type', 'This field is required.'],
          [{ item_type: 'prop' }, 'name', 'This field is required.'],
          [{ item_type: 'prop', name: '' }, 'name', 'This field may not be blank.'],
          [{ item_type: 'prop', name: 'x'.repeat(101) }, 'name', 'Ensure this field has no more than 100 characters.'],
          [{ item_type: 'prop', name: 42 }, 'name', 'Not a valid string.'],
          [{ item_type: 'prop', name: 'x', price: '-1' }, 'price', 'Ensure this value is greater than or equal to 0.'],
          [{ item_type: 'prop', name: 'x', price: '1.234' }, 'price', 'Ensure that there are no more than 2 decimal places.'],
          [{ item_type: 'prop', name: 'x', price: 'cheap' }, 'price', 'A valid number is required.'],
          [{ item_type: 'prop', name: 'x', price: '123456789.00' }, 'price', 'Ensure that there are no more than 10 digits in total.'],
          [{ item_type: 'prop', name: 'x', is_for_rent: 'maybe' }, 'is_for_rent', 'Must be a valid boolean.'],
          [{ item_type: 'location', name: 'x', capacity: -1 }, 'capacity', 'Ensure this value is greater than or equal to 0.'],
          [{ item_type: 'location', name: 'x', capacity: 'lots' }, 'capacity', 'A valid integer is required.'],
          [{ item_type: 'vehicle', name: 'x', year: 1885 }, 'year', 'Ensure this value is greater than or equal to 1886.'],
          [
            { item_type: 'vehicle', name: 'x', year: new Date().getUTCFullYear() + 2 },
            'year',
            `Ensure this value is less than or equal to ${new Date().getUTCFullYear() + 1}.`,
          ],
          [
            { item_type: 'prop', name: 'x', image: 'http://evil.example/a.jpg' },
            'image',
            'The submitted data was not a file. Check the encoding type on the form.',
          ],
        ])('refuses %j', async (body, field, message) => {
          const res = await create(owner, body);
          expect(res.status).toBe(400);
          expect(res.body[field]).toEqual([message]);
        });

        it('names every unknown field, including another type’s fields', async () => {
          const res = await create(owner, { item_type: 'prop', name: 'x', colour: 'red', year: 1999 });
          expect(res.status).toBe(400);
          expect(Object.keys(res.body).sort()).toEqual(['colour', 'year']);
          expect(res.body.colour[0]).toMatch(/^Unknown field for a prop\. Allowed fields: name, description, price, genre/);
        });

        it('accepts form-encoded values and the boundary years', async () => {
          const res = await t.http.request('POST', ITEMS, {
            form: itemForm({ item_type: 'vehicle', name: 'Oldest', year: 1886, price: '0', is_for_sale: 'true' }),
            headers: owner.headers,
          });
          expect(res.status).toBe(201);
          expect(res.body).toMatchObject({ year: 1886, price: '0.00', is_for_sale: true });
          await t.http.request('DELETE', `${ITEMS}vehicle/${res.body.id}/`, { headers: owner.headers });
        });

        it('refuses to change the type, and an empty change', async () => {
          const res = await create(owner, { item_type: 'prop', name: 'Lamp' });
          const url = `${ITEMS}prop/${res.body.id}/`;
          const retype = await t.http.request('PATCH', url, { json: { item_type: 'costume' }, headers: owner.headers });
          expect(retype.status).toBe(400);
          expect(retype.body.item_type).toBeDefined();
          const empty = await t.http.request('PATCH', url, { json: {}, headers: owner.headers });
          expect(empty.status).toBe(400);
          expect(empty.body).toEqual({ non_field_errors: ['At least one field must be provided for update.'] });
          await t.http.request('DELETE', url, { headers: owner.headers });
        });
      });

      describe('ownership and addressing', () => {
        it("answers 404 for another user's item, never 403, and changes nothing", async () => {
          const other = await subscribedUser();
          const res = await create(owner, { item_type: 'prop', name: 'Mine' });
          const url = `${ITEMS}prop/${res.body.id}/`;
          expect((await t.http.get(url, other.headers)).status).toBe(404);
          expect((await t.http.request('PATCH', url, { json: { name: 'Stolen' }, headers: other.headers })).status).toBe(404);
          expect((await t.http.request('DELETE', url, { headers: other.headers })).status).toBe(404);
          expect((await t.http.get(url, owner.headers)).body.name).toBe('Mine');
          await t.http.request('DELETE', url, { headers: owner.headers });
        });

        it('answers 404 for the wrong type or a malformed id, 400 for an unknown type', async () => {
          const res = await create(owner, { item_type: 'prop', name: 'Lamp' });
          expect((await t.http.get(`${ITEMS}costume/${res.body.id}/`, owner.headers)).status).toBe(404);
          expect((await t.http.get(`${ITEMS}prop/abc/`, owner.headers)).status).toBe(404);
          expect((await t.http.get(`${ITEMS}prop/99999999/`, owner.headers)).status).toBe(404);
          const unknown = await t.http.get(`${ITEMS}spaceship/${res.body.id}/`, owner.headers);
          expect(unknown.status).toBe(400);
          expect(unknown.body.item_type[0]).toContain('Valid types are');
          await t.http.request('DELETE', `${ITEMS}prop/${res.body.id}/`, { headers: owner.headers });
        });
      });

      describe('listing', () => {
        it('groups by type, filters by type and pages in a stable order', async () => {
          const user = await subscribedUser();
          const ids: number[] = [];
          for (let i = 0; i < 7; i++) {
            const type = i % 2 === 0 ? 'prop' : 'costume';
            const res = await create(user, { item_type: type, name: `Item ${i}` });
            ids.push(res.body.id);
          }
          const all = await t.http.get(ITEMS, user.headers);
          expect(all.body.total_items).toBe(7);
          expect(all.body.items.prop.map((i: { name: string }) => i.name)).toEqual(['Item 0', 'Item 2', 'Item 4', 'Item 6']);
          expect(all.body.items.costume).toHaveLength(3);
          // Each item keeps its own type's fields in a list too.
          expect(Object.keys(all.body.items.costume[0])).toEqual(expect.arrayContaining(['size', 'worn_by', 'era']));
          expect(Object.keys(all.body.items.prop[0])).toEqual(expect.arrayContaining(['material', 'used_in_movie', 'condition']));
          expect(all.body.items.prop[0]).not.toHaveProperty('size');
          expect(all.body.items.vehicle).toEqual([]);

          const props = await t.http.get(`${ITEMS}?item_type=prop`, user.headers);
          expect(props.body).toMatchObject({ item_type: 'prop', total_items: 4 });
          expect(props.body.items).toHaveLength(4);

          const seen: number[] = [];
          let url: string | null = `${ITEMS}?page_size=3`;
          let pages = 0;
          while (url) {
            const page: HttpResponse = await t.http.get(url.replace(t.http.baseUrl, ''), user.headers);
            expect(page.status).toBe(200);
            expect(page.body).toMatchObject({ total_items: 7, total_pages: 3, page_size: 3 });
            for (const group of Object.values(page.body.items) as { id: number }[][]) seen.push(...group.map((i) => i.id));
            url = page.body.next;
            pages += 1;
          }
          expect(pages).toBe(3);
          expect(seen.sort((a, b) => a - b)).toEqual(ids);

          const last = await t.http.get(`${ITEMS}?page_size=3&page=3`, user.headers);
          expect(last.body.next).toBeNull();
          expect(last.body.previous).toContain('page=2');
          const beyond = await t.http.get(`${ITEMS}?page_size=3&page=4`, user.headers);
          expect(beyond.status).toBe(404);
          expect(beyond.body).toEqual({ detail: 'Invalid page.' });
          expect((await t.http.get(`${ITEMS}?page=0`, user.headers)).status).toBe(400);
          expect((await t.http.get(`${ITEMS}?item_type=spaceship`, user.headers)).status).toBe(400);
        });
      });

      describe('score', () => {
        it('counts item types and quantity tiers after 1, 6, 11 and 21 items', async () => {
          const user = await subscribedUser();
          const expectations = [
            { total: 1, types: 1, quantity: 10 },
            { total: 6, types: 6, quantity: 15 },
            { total: 11, types: 8, quantity: 20 },
            { total: 21, types: 8, quantity: 25 },
          ];
          let made = 0;
          for (const step of expectations) {
            while (made < step.total) {
              const type = TYPES[made % TYPES.length]!;
              const res = await create(user, { item_type: type, ...SAMPLES[type] });
              expect(res.status).toBe(201);
              made += 1;
            }
            const profile = await t.http.get('/api/profile/background/', user.headers);
            const score = profile.body.profile_score;
            expect(score.item_diversity).toBe(step.types * 5);
            expect(score.item_quantity).toBe(step.quantity);
            expect(score.total).toBe(Math.min(100, 25 + 15 + step.types * 5 + step.quantity));
            expect(profile.body.profile.profile_score).toBe(score.total);
            expect(score.details.item_quantity).toBe(
              `${step.total} item${step.total === 1 ? '' : 's'} listed: ${step.quantity} of 25 points.`,
            );
            expect(score.details.item_diversity).toContain(`${step.types} item type`);
          }
        });

        it('reads the profile with the same number of queries whatever the number of items', async () => {
          const user = await subscribedUser();
          // The app's background passes (deletion retries, mail) query on their own clock and are
          // counted too: the fewest of three reads is the read's own.
          const queriesOfRead = async () => {
            const counts: number[] = [];
            for (let i = 0; i < 3; i++) {
              t.queries.length = 0;
              await t.http.get('/api/profile/background/', user.headers);
              counts.push(t.queries.length);
            }
            return Math.min(...counts);
          };
          await create(user, { item_type: 'prop', name: 'One' });
          // The first read also loads the (empty) gallery; later reads reuse it until it changes.
          await t.http.get('/api/profile/background/', user.headers);
          const few = await queriesOfRead();
          for (let i = 0; i < 16; i++) await create(user, { item_type: TYPES[i % TYPES.length]!, name: `Item ${i}` });
          expect(await queriesOfRead()).toBe(few);
          expect(few).toBeLessThanOrEqual(6);
        });
      });

      describe('files', () => {
        it('stores an item image like a profile picture, replaces and removes it safely', async () => {
          const res = await t.http.request('POST', ITEMS, {
            form: itemForm(
              { item_type: 'prop', name: 'Camera' },
              { image: { bytes: await jpegWithExif(), name: 'c.jpg', type: 'image/jpeg' } },
            ),
            headers: owner.headers,
          });
          expect(res.status).toBe(201);
          const firstUrl: string = res.body.image;
          expect(firstUrl).toMatch(new RegExp(`/media/item_images/${owner.id}_[A-Za-z0-9_-]{22}\\.jpg$`));
          const bytes = Buffer.from(await (await fetch(firstUrl)).arrayBuffer());
          const meta = await sharp(bytes).metadata();
          expect(meta.exif).toBeUndefined();
          expect([meta.width, meta.height]).toEqual([800, 1200]);

          const url = `${ITEMS}prop/${res.body.id}/`;
          const replaced = await t.http.request('PATCH', url, {
            form: itemForm({}, { image: { bytes: await jpeg(), name: 'd.jpg', type: 'image/jpeg' } }),
            headers: owner.headers,
          });
          expect(replaced.status).toBe(200);
          expect(replaced.body.image).not.toBe(firstUrl);
          await t.settled(); // the replaced files are deleted once the answer is written
          expect((await fetch(firstUrl)).status).toBe(404);
          await expectNoOrphans(t);

          const removed = await t.http.request('PATCH', url, { json: { image: null }, headers: owner.headers });
          expect(removed.body.image).toBeNull();
          await t.settled(); // the replaced files are deleted once the answer is written
          expect((await fetch(replaced.body.image)).status).toBe(404);
          await expectNoOrphans(t);
          await t.http.request('DELETE', url, { headers: owner.headers });
        });

        it('refuses an invalid item image and stores nothing', async () => {
          const before = await storedNames(t);
          const res = await t.http.request('POST', ITEMS, {
            form: itemForm(
              { item_type: 'prop', name: 'Bad' },
              { image: { bytes: Buffer.from('<html></html>'), name: 'x.jpg', type: 'image/jpeg' } },
            ),
            headers: owner.headers,
          });
          expect(res.status).toBe(400);
          expect(res.body).toEqual({
            image: ['Upload a valid image. The file you uploaded was either not an image or a corrupted image.'],
          });
          expect(await storedNames(t)).toEqual(before);
          expect(
            (await t.http.get(`${ITEMS}?item_type=prop`, owner.headers)).body.items.some((i: { name: string }) => i.name === 'Bad'),
          ).toBe(false);
        });

        it('takes a PDF or an image as authenticity certificate, only for memorabilia', async () => {
          const pdf = await t.http.request('POST', ITEMS, {
            form: itemForm(
              { item_type: 'memorabilia', name: 'Signed poster' },
              {
                authenticity_certificate: { bytes: PDF, name: 'cert.pdf', type: 'application/pdf' },
                image: { bytes: await jpeg(), name: 'poster.jpg', type: 'image/jpeg' },
              },
            ),
            headers: owner.headers,
          });
          expect(pdf.status).toBe(201);
          expect(pdf.body.authenticity_certificate).toMatch(/\/media\/certificates\/\d+_[A-Za-z0-9_-]{22}\.pdf$/);
          expect(pdf.body.image).toMatch(/\/media\/item_images\//);
          const served = await fetch(pdf.body.authenticity_certificate);
          expect(served.status).toBe(200);
          expect(served.headers.get('content-type')).toContain('application/pdf');
          expect(Buffer.from(await served.arrayBuffer()).equals(PDF)).toBe(true);
          if (store.name === 'local') expect(served.headers.get('content-disposition')).toBe('attachment');

          const image = await t.http.request('POST', ITEMS, {
            form: itemForm(
              { item_type: 'memorabilia', name: 'Photo cert' },
              { authenticity_certificate: { bytes: await jpeg(), name: 'c.jpg', type: 'image/jpeg' } },
            ),
            headers: owner.headers,
          });
          expect(image.status).toBe(201);
          expect(image.body.authenticity_certificate).toMatch(/\/media\/certificates\/.+\.jpg$/);

          const text = await t.http.request('POST', ITEMS, {
            form: itemForm(
              { item_type: 'memorabilia', name: 'Fake' },
              { authenticity_certificate: { bytes: Buffer.from('trust me'), name: 'c.pdf', type: 'application/pdf' } },
            ),
            headers: owner.headers,
          });
          expect(text.status).toBe(400);
          expect(Object.keys(text.body)).toEqual(['authenticity_certificate']);

          const onProp = await t.http.request('POST', ITEMS, {
            form: itemForm(
              { item_type: 'prop', name: 'Wrong' },
              { authenticity_certificate: { bytes: PDF, name: 'c.pdf', type: 'application/pdf' } },
            ),
            headers: owner.headers,
          });
          expect(onProp.status).toBe(400);
          expect(onProp.body.authenticity_certificate[0]).toContain('Unknown field for a prop');
          await expectNoOrphans(t);

          for (const created of [pdf, image]) {
            await t.http.request('DELETE', `${ITEMS}memorabilia/${created.body.id}/`, { headers: owner.headers });
          }
          await t.settled(); // the replaced files are deleted once the answer is written
          expect((await fetch(pdf.body.authenticity_certificate)).status).toBe(404);
          await expectNoOrphans(t);
        });

        it('deleting an item whose file cannot be deleted right now keeps it queued, then the sweep removes it', async () => {
          const res = await t.http.request('POST', ITEMS, {
            form: itemForm({ item_type: 'prop', name: 'Fragile' }, { image: { bytes: await jpeg(), name: 'f.jpg', type: 'image/jpeg' } }),
            headers: owner.headers,
          });
          t.storage.failNext('delete');
          const deleted = await t.http.request('DELETE', `${ITEMS}prop/${res.body.id}/`, { headers: owner.headers });
          expect(deleted.status).toBe(204);
          await t.settled(); // the deletion is tried once the answer is written
          expect(await t.database.db.selectFrom('pending_deletions').select('name').execute()).toHaveLength(1);
          expect((await cli(t, 'media', 'sweep')).code).toBe(0);
          await expectNoOrphans(t);
        });
      });

      describe('deleting a user', () => {
        it('removes the user, profile, items, subscriptions and every stored file', async () => {
          const user = await subscribedUser();
          const picture = new FormData();
          picture.append('profile_picture', new Blob([await jpeg()], { type: 'image/jpeg' }), 'me.jpg');
          expect((await t.http.request('POST', '/api/profile/background/', { form: picture, headers: user.headers })).status).toBe(200);
          for (const type of ['prop', 'memorabilia']) {
            const files: Record<string, { bytes: Buffer; name: string; type: string }> = {
              image: { bytes: await jpeg(), name: 'i.jpg', type: 'image/jpeg' },
            };
            if (type === 'memorabilia') files.authenticity_certificate = { bytes: PDF, name: 'c.pdf', type: 'application/pdf' };
            const res = await t.http.request('POST', ITEMS, {
              form: itemForm({ item_type: type, name: 'Thing' }, files),
              headers: user.headers,
            });
            expect(res.status).toBe(201);
          }
          const mine = (await storedNames(t)).filter((name) => name.split('/')[1]!.startsWith(`${user.id}_`));
          // The picture, two item images and a certificate, and the pictures' variants.
          expect(mine.filter((name) => !isVariantName(name))).toHaveLength(4);
          expect(mine.filter(isVariantName).length).toBeGreaterThanOrEqual(3);

          const result = await cli(t, 'user', 'delete', user.email);
          expect(result.code).toBe(0);
          for (const table of ['users', 'items', 'subscriptions', 'background_profiles'] as const) {
            const column = table === 'users' ? 'id' : 'user_id';
            const rows = await t.database.db.selectFrom(table).select(column).where(column, '=', user.id).execute();
            expect(rows, table).toEqual([]);
          }
          const left = (await storedNames(t)).filter((name) => name.split('/')[1]!.startsWith(`${user.id}_`));
          expect(left).toEqual([]);
          expect((await t.http.get('/api/profile/background/', user.headers)).status).toBe(401);
          await expectNoOrphans(t);
        });
      });
    });
  }
}
