import type { IncomingMessage, ServerResponse } from 'node:http';
import helmet from 'helmet';
import cors from '@fastify/cors';
import type { FastifyInstance } from 'fastify';

/**
 * Security headers for an API that also serves a web page. The page may load scripts, styles
 * and data only from here and pictures from here or the media CDN; nothing may frame it.
 * Resources are shareable cross-origin (Cross-Origin-Resource-Policy: cross-origin) because the
 * existing web and mobile clients on other origins display the pictures served at /media/.
 */
export function registerSecurityHeaders(app: FastifyInstance, mediaOrigins: string[]): void {
  const images = ["'self'", 'data:', 'blob:', ...mediaOrigins];
  // Built once: @fastify/helmet rebuilt this middleware (parsing the policy) on every request.
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
  const fixed = recordHeaders(headers);
  app.addHook('onRequest', (request, reply, done) => {
    for (const [name, value] of fixed) reply.raw.setHeader(name, value);
    done();
  });
}

type Middleware = (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => void;

/**
 * The headers a middleware sets, recorded once: with no per-request values (no nonces) helmet
 * sets the same ones on every response, and running it per request cost about 2 % of a profile
 * read's CPU, mostly re-joining the policy string.
 */
function recordHeaders(middleware: Middleware): Array<[string, string]> {
  const recorded: Array<[string, string]> = [];
  let finished = false;
  const res = {
    setHeader(name: string, value: string | number | readonly string[]) {
      recorded.push([name, Array.isArray(value) ? value.join(', ') : String(value)]);
      return res;
    },
    removeHeader() {},
  };
  middleware({ headers: {} } as IncomingMessage, res as unknown as ServerResponse, (error) => {
    if (error) throw error;
    finished = true;
  });
  if (!finished) throw new Error('security headers: the middleware did not finish synchronously');
  return recorded;
}

/** Other origins allowed to call the API from a browser (CORS_ORIGINS); the app's own page needs none. */
export async function registerCors(app: FastifyInstance, origins: string[]): Promise<void> {
  if (origins.length === 0) return;
  await app.register(cors, {
    origin: origins.includes('*') ? '*' : origins,
    methods: ['GET', 'HEAD', 'POST', 'PATCH', 'DELETE'],
    allowedHeaders: ['Authorization', 'Content-Type', 'is-background', 'is-talent'],
    maxAge: 600,
  });
}
