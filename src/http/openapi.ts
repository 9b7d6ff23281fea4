import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance, FastifySchema } from 'fastify';
import { Type, type TSchema } from 'typebox';
import { accessOf } from '../auth/guard.js';
import { ROLE_HEADERS } from '../auth/roles.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** What the OpenAPI document shows for a body the route reads itself (multipart, forms). */
    docs?: { body: TSchema; consumes: string[] };
  }
}

const Detail = Type.Object({ detail: Type.String() }, { additionalProperties: true, description: 'DRF-shaped error: {"detail": "..."}' });
const Fields = Type.Record(Type.String(), Type.Array(Type.String()), {
  description: 'DRF-shaped validation error: {"field": ["message", ...]}; "non_field_errors" for the body as a whole',
});

const documented = (url: string) => url.startsWith('/api/') || url === '/health' || url === '/ready' || url === '/metrics';

const DESCRIPTION = `The profile and media API of castfolio, compatible with the Django REST Framework API it
replaces: same URLs (the trailing slash is optional), headers and JSON shapes.

**Authentication**: \`Authorization: Bearer <access token>\` from \`POST /api/token/\` (HS256 JWT with
simplejwt's claims). Background endpoints also need the header \`is-background: true\`, talent
endpoints \`is-talent: true\`.

**Errors** follow DRF: \`{"detail": "..."}\` for authentication, permission, not found, throttling
and server errors; \`{"field": ["message"]}\` for validation. A 429 carries \`Retry-After\`.`;

/**
 * OpenAPI 3.1 from the route schemas, at /openapi.json, with Swagger UI at /docs (its assets
 * come from the package, no CDN). Each route's security, role header and error responses are
 * read from its hooks, so the document cannot drift from what the code checks.
 */
export async function registerOpenApi(app: FastifyInstance, version: string): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'castfolio API', version, description: DESCRIPTION },
      components: {
        securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      },
      tags: [
        { name: 'accounts', description: 'Registration, tokens, verification, passwords, deletion' },
        { name: 'profiles', description: 'Talent and background profiles, pictures, score, subscription' },
        { name: 'items', description: "Background users' items" },
        { name: 'health', description: 'Liveness, readiness, metrics' },
      ],
    },
    transform: ({ schema, url, route }) => {
      const base = (schema ?? {}) as FastifySchema & Record<string, unknown>;
      if (!documented(url)) return { schema: { ...base, hide: true } as FastifySchema, url };
      const access = accessOf(route.onRequest);
      const next: Record<string, unknown> = { ...base };
      const errors: Record<string, TSchema> = { 429: Detail, 500: Detail, 503: Detail };
      if (route.method !== 'GET' && route.method !== 'HEAD') Object.assign(errors, { 400: Fields, 413: Detail, 415: Detail });
      if (access) {
        next.security = [{ bearerAuth: [] }];
        Object.assign(errors, { 401: Detail, 403: Detail });
        if (access !== 'user') {
          const header = ROLE_HEADERS[access];
          next.headers = Type.Object({
            [header]: Type.Optional(
              Type.Literal('true', {
                description: `The request is made as a ${access} user. Without any role header the account's own role decides; any other value, or only the other role's header, is refused (403).`,
              }),
            ),
          });
        }
      }
      const docs = route.config?.docs;
      if (docs) {
        next.body = docs.body;
        next.consumes = docs.consumes;
      }
      next.response = { ...errors, ...(base.response as object) };
      return { schema: next as FastifySchema, url };
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true, uiConfig: { docExpansion: 'list', deepLinking: true } });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}
