import type { FastifyInstance, FastifyReply, FastifyRequest, HTTPMethods } from 'fastify';
import FindMyWay, { type HTTPMethod } from 'find-my-way';
import { sendError } from './errors.js';

/**
 * DRF answers a known URL with the wrong method with 405 and an Allow header; Fastify answers
 * 404. A shadow router of every registered route tells the two apart.
 */
declare module 'fastify' {
  interface FastifyInstance {
    /** Every route registered, as method + URL pattern (the OpenAPI test checks each is documented). */
    registeredRoutes: { method: string; url: string }[];
  }
}

export function registerNotFound(app: FastifyInstance): void {
  const known = FindMyWay({ ignoreTrailingSlash: true });
  const registered: { method: string; url: string }[] = [];
  app.decorate('registeredRoutes', registered);
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) registered.push({ method: String(method).toUpperCase(), url: route.url });
    // Wildcards (the media folder) would make every path under them look known.
    if (route.url.includes('*')) return;
    const methods = (Array.isArray(route.method) ? route.method : [route.method]) as HTTPMethods[];
    for (const method of methods.map((m) => m.toUpperCase() as HTTPMethod)) {
      if (!known.hasRoute(method, route.url)) known.on(method, route.url, () => undefined);
    }
  });

  const answer = (request: FastifyRequest, reply: FastifyReply) => {
    const path = request.url.split('?')[0] ?? '/';
    const allowed = (['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'] as const).filter(
      (method) => known.find(method, path) !== null,
    );
    // A route that exists for this very method sent us here itself (e.g. a missing static file): 404.
    if (allowed.length > 0 && !allowed.includes(request.method as (typeof allowed)[number])) {
      return sendError(reply, 405, { detail: `Method "${request.method}" not allowed.` }, { Allow: allowed.join(', ') });
    }
    return sendError(reply, 404, { detail: 'Not found.' });
  };
  // Answered before the body is parsed, as Django's resolver answers before any parser runs: a photo
  // or a large JSON body sent to a mistyped URL, or with a method the URL does not take, gets its
  // 404 or 405, not a refusal of its size. After every onRequest hook (security headers, rate
  // limits, CORS), which hold for these answers too.
  app.addHook('preParsing', async (request, reply, payload) => (request.is404 ? answer(request, reply) : payload));
  app.setNotFoundHandler(answer);
}
