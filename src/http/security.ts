import helmet from '@fastify/helmet';
import type { FastifyInstance } from 'fastify';

/**
 * Security headers for an API that also serves a web page. The page may load scripts, styles
 * and data only from here and pictures from here or the media CDN; nothing may frame it.
 * Resources are shareable cross-origin (Cross-Origin-Resource-Policy: cross-origin) because the
 * existing web and mobile clients on other origins display the pictures served at /media/.
 */
export async function registerSecurityHeaders(app: FastifyInstance, mediaOrigins: string[]): Promise<void> {
  const images = ["'self'", 'data:', 'blob:', ...mediaOrigins];
  await app.register(helmet, {
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
}
