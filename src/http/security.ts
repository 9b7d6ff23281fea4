import helmet from 'helmet';
import type { FastifyInstance } from 'fastify';

/**
 * Security headers for an API that also serves a web page. The page may load scripts, styles
 * and data only from here and pictures from here or the media CDN; nothing may frame it.
 * Resources are shareable cross-origin (Cross-Origin-Resource-Policy: cross-origin) because the
 * existing web and mobile clients on other origins display the pictures served at /media/.
 */
export function registerSecurityHeaders(app: FastifyInstance, mediaOrigins: string[]): void {
  const images = ["'self'", 'data:', 'blob:', ...mediaOrigins];
  // Built once: @fastify/helmet rebuilt this middleware (parsing the policy) on every request,
  // about 2 % of the CPU of a profile read (bench/profile-get.ts).
  const headers = helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        // Preact sets style attributes (the score bars); no inline script is allowed.
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: images,
        connectSrc: ["'self'"],
        fontSrc: ["'self'"],
        objectSrc: ["'none'"],
        baseUri: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
      },
    },
    crossOriginResourcePolicy: { policy: 'cross-origin' },
    crossOriginEmbedderPolicy: false,
  });
  app.addHook('onRequest', (request, reply, done) => {
    headers(request.raw, reply.raw, (error?: unknown) => done(error as Error | undefined));
  });
}
