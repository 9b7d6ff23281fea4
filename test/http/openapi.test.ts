import { Validator } from '@seriousme/openapi-schema-validator';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { DATABASES } from '../helpers/databases.js';
import { createUser, registration } from '../helpers/factories.js';
import type { HttpResponse } from '../helpers/http.js';
import { jpeg } from '../helpers/images.js';

type Doc = {
  openapi: string;
  paths: Record<
    string,
    Record<
      string,
      {
        security?: unknown[];
        parameters?: { in: string; name: string; required?: boolean }[];
        responses: Record<string, { content?: Record<string, { schema: object }> }>;
      }
    >
  >;
};

// ajv and ajv-formats are CommonJS with a default export.
const require = createRequire(import.meta.url);
type Validate = ((data: unknown) => boolean) & { errors?: unknown };
const Ajv2020 = require('ajv/dist/2020').default as new (options: object) => { compile(schema: object): Validate };
const addFormats = require('ajv-formats').default as (ajv: unknown) => void;

const toOpenApiPath = (url: string) => url.replace(/:([A-Za-z_]+)/g, '{$1}');

describe('the OpenAPI document', () => {
  let t: TestApp;
  let doc: Doc;
  beforeAll(async () => {
    t = await startTestApp(DATABASES[0]!);
    doc = (await t.http.get('/openapi.json')).body;
  });
  afterAll(async () => t?.close());

  it('is a valid OpenAPI 3.1 document', async () => {
    expect(doc.openapi).toBe('3.1.0');
    const result = await new Validator().validate(doc as never);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it('documents every registered API route and method', () => {
    const missing = t.app.registeredRoutes
      .filter((r) => (r.url.startsWith('/api/') || ['/health', '/ready', '/metrics'].includes(r.url)) && r.method !== 'HEAD')
      .filter((r) => !doc.paths[toOpenApiPath(r.url)]?.[r.method.toLowerCase()])
      .map((r) => `${r.method} ${r.url}`);
    expect(missing).toEqual([]);
    expect(Object.keys(doc.paths).length).toBeGreaterThanOrEqual(20);
  });

  it('describes the auth scheme, the role headers and the error shapes', () => {
    const profile = doc.paths['/api/profile/background/']!.get!;
    expect(profile.security).toEqual([{ bearerAuth: [] }]);
    expect(profile.parameters).toContainEqual(expect.objectContaining({ in: 'header', name: 'is-background', required: false }));
    for (const status of ['200', '401', '403', '429', '503']) expect(Object.keys(profile.responses)).toContain(status);
    const talent = doc.paths['/api/profile/talent/']!.post!;
    expect(talent.parameters).toContainEqual(expect.objectContaining({ in: 'header', name: 'is-talent' }));
    expect(Object.keys(talent.responses)).toEqual(expect.arrayContaining(['200', '400', '413']));
    const register = doc.paths['/api/register/']!.post!;
    expect(register.security).toBeUndefined();
    const account = doc.paths['/api/account/']!.delete!;
    expect(account.security).toEqual([{ bearerAuth: [] }]);
    expect(account.parameters?.some((p) => p.in === 'header')).toBeFalsy();
  });

  it('serves interactive docs whose assets all come from this server', async () => {
    const page = await t.http.get('/docs');
    expect(page.status).toBe(200);
    expect(page.text).toContain('swagger');
    const sources = [...page.text.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1] as string);
    expect(sources.length).toBeGreaterThan(0);
    for (const source of sources) {
      expect(source.startsWith('http')).toBe(false);
      const asset = await t.http.get(new URL(source, `${t.http.baseUrl}/docs/`).pathname);
      expect(asset.status, source).toBe(200);
    }
  });

  describe('contract: real responses of the main flows match the document', () => {
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats(ajv);

    function check(path: string, method: string, res: HttpResponse) {
      const operation = doc.paths[path]?.[method];
      expect(operation, `${method} ${path} documented`).toBeDefined();
      const response = operation!.responses[String(res.status)];
      expect(response, `${method} ${path} documents status ${res.status}`).toBeDefined();
      const schema = response!.content?.['application/json']?.schema;
      if (!schema) return;
      const validate = ajv.compile(schema);
      expect(validate(res.body), `${method} ${path} ${res.status}: ${JSON.stringify(validate.errors)}`).toBe(true);
    }

    it('accounts, profiles, pictures, items and their errors', async () => {
      const body = registration('background');
      check('/api/register/', 'post', await t.http.post('/api/register/', body));
      check('/api/register/', 'post', await t.http.post('/api/register/', { ...body, date_of_birth: 'nope' }));
      check('/api/token/', 'post', await t.http.post('/api/token/', { email: body.email, password: body.password }));
      check('/api/token/', 'post', await t.http.post('/api/token/', { email: body.email, password: 'wrong-wrong-1' }));
      check('/api/login/background/', 'post', await t.http.post('/api/login/background/', { email: body.email, password: body.password }));
      check('/api/login/talent/', 'post', await t.http.post('/api/login/talent/', { email: body.email, password: body.password }));

      const user = await createUser(t.http, 'background');
      await runCli(
        ['subscription', 'grant', user.email, 'background_jobs'],
        t.config,
        { out: () => undefined, err: () => undefined },
        t.database,
      );
      check('/api/profile/background/', 'get', await t.http.get('/api/profile/background/', user.headers));
      check(
        '/api/profile/background/',
        'get',
        await t.http.get('/api/profile/background/', { Authorization: user.headers.Authorization! }),
      );
      check('/api/profile/background/', 'get', await t.http.get('/api/profile/background/'));
      // A gallery whose names need escaping: the profile read writes the gallery's JSON itself.
      for (const name of ['Look "one" \\ é', 'Second\nline']) {
        const item = new FormData();
        item.append('media_file', new Blob([await jpeg()], { type: 'image/jpeg' }), 'look.jpg');
        item.append('name', name);
        item.append('tags', 'commercial');
        check(
          '/api/profile/background/media/',
          'post',
          await t.http.request('POST', '/api/profile/background/media/', { form: item, headers: user.headers }),
        );
      }
      const withGallery = await t.http.get('/api/profile/background/', user.headers);
      check('/api/profile/background/', 'get', withGallery);
      const listed = await t.http.get('/api/profile/background/media/', user.headers);
      check('/api/profile/background/media/', 'get', listed);
      // The profile embeds each item as listed, less media_file_info (the gallery endpoints carry it).
      expect(listed.body.every((m: { media_file_info?: unknown }) => m.media_file_info)).toBe(true);
      expect(withGallery.body.media).toEqual(listed.body.map(({ media_file_info: _info, ...item }: Record<string, unknown>) => item));
      expect(withGallery.body.media.map((m: { name: string }) => m.name)).toEqual(['Look "one" \\ é', 'Second\r\nline']); // multipart sends line breaks as CRLF
      const form = new FormData();
      form.append('profile_picture', new Blob([await jpeg()], { type: 'image/jpeg' }), 'me.jpg');
      form.append('country', 'Canada');
      check('/api/profile/background/', 'post', await t.http.request('POST', '/api/profile/background/', { form, headers: user.headers }));
      check('/api/profile/background/', 'post', await t.http.post('/api/profile/background/', { gender: 'X' }, user.headers));
      check(
        '/api/profile/background/subscription-status/',
        'get',
        await t.http.get('/api/profile/background/subscription-status/', user.headers),
      );
      check('/api/profile/background/restrictions/', 'get', await t.http.get('/api/profile/background/restrictions/', user.headers));

      const created = await t.http.post(
        '/api/profile/background/items/',
        { item_type: 'vehicle', name: 'Taxi', year: 1965, price: '20' },
        user.headers,
      );
      check('/api/profile/background/items/', 'post', created);
      check('/api/profile/background/items/', 'get', await t.http.get('/api/profile/background/items/', user.headers));
      check('/api/profile/background/items/', 'get', await t.http.get('/api/profile/background/items/?item_type=vehicle', user.headers));
      const one = '/api/profile/background/items/{item_type}/{id}/';
      check(one, 'get', await t.http.get(`/api/profile/background/items/vehicle/${created.body.id}/`, user.headers));
      check(one, 'get', await t.http.get('/api/profile/background/items/vehicle/999999/', user.headers));
      check(
        one,
        'patch',
        await t.http.request('PATCH', `/api/profile/background/items/vehicle/${created.body.id}/`, {
          json: { model: 'FX4' },
          headers: user.headers,
        }),
      );

      const talent = await createUser(t.http, 'talent');
      check('/api/profile/talent/', 'get', await t.http.get('/api/profile/talent/', talent.headers));
      check('/api/token/refresh/', 'post', await t.http.post('/api/token/refresh/', { refresh: talent.refresh }));
      check('/health', 'get', await t.http.get('/health'));
      check('/ready', 'get', await t.http.get('/ready'));
    });
  });
});
