import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { maxHeaderSize, type Server } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyHttpOptions, FastifyInstance, FastifyServerOptions } from 'fastify';
import type { Config } from '../config.js';
import type { Storage } from '../storage/types.js';
import { sendError } from './errors.js';
import { JSON_BODY_LIMIT } from './json.js';

/** A socket with no traffic either way for this long is closed (a client that stopped reading). */
const IDLE_SOCKET_MS = 120_000;

function loggerOptions(config: Config, stream?: NodeJS.WritableStream): FastifyServerOptions['logger'] {
  if (stream) return { level: config.logLevel, stream };
  const pretty = process.stdout.isTTY && config.env !== 'production';
  return {
    level: config.logLevel,
    ...(pretty ? { transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l' } } } : {}),
  };
}

/** An incoming request id, kept only from a trusted proxy and only when it is short and plain. */
function requestId(header: string | string[] | undefined, trusted: boolean): string {
  return trusted && typeof header === 'string' && /^[A-Za-z0-9._:-]{1,128}$/.test(header) ? header : randomUUID();
}

/**
 * Fastify refuses to honour a bare hop count (it cannot tell the proxy from a client), so the
 * count becomes a function: the last `hops` addresses (the socket's peer first) are proxies and
 * the next one to the left is the client. Right only when the app can be reached through those
 * proxies alone, as on App Platform; otherwise list the proxies' addresses.
 */
function trustProxyOption(trust: Config['trustProxy']): boolean | string[] | ((address: string, hop: number) => boolean) {
  return typeof trust === 'number' ? (_address, hop) => hop < trust : trust;
}

/**
 * The answer to a request Node's HTTP parser refused before any route saw it (headers too large
 * or too slow, a malformed request line or header), in DRF's shape like every other refusal
 * instead of Fastify's `{"error", "message", "statusCode"}`. The connection then closes, as Node
 * and Fastify close it.
 */
function clientErrorHandler(headersMs: number) {
  return function (this: FastifyInstance, error: Error & { code?: string; reason?: string }, socket: Socket): void {
    // A reset connection has no one left to answer.
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    const [status, label, detail] =
      error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'Request Timeout', `The request headers did not arrive within ${Math.round(headersMs / 1000)} seconds.`]
        : error.code === 'HPE_HEADER_OVERFLOW'
          ? [431, 'Request Header Fields Too Large', `The request headers are larger than ${maxHeaderSize / 1024} KB.`]
          : [400, 'Bad Request', `Malformed HTTP request${error.reason ? `: ${error.reason.replace(/\.?$/, '.')}` : '.'}`];
    this.log.debug({ err: error }, 'malformed request');
    const body = JSON.stringify({ detail });
    if (socket.writable) {
      socket.write(
        `HTTP/1.1 ${status} ${label}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
    }
    socket.destroy(error);
  };
}

/** Fastify's own options: logging, proxies, request ids, body size and slow-client limits. */
export function serverOptions(config: Config, logStream?: NodeJS.WritableStream): FastifyHttpOptions<Server> {
  return {
    logger: loggerOptions(config, logStream),
    routerOptions: { ignoreTrailingSlash: true },
    trustProxy: trustProxyOption(config.trustProxy),
    bodyLimit: JSON_BODY_LIMIT,
    // Slow clients (slowloris): headers must arrive in time, idle keep-alive connections close,
    // and Node looks at its timers every second instead of every 30 (request bodies: deadlines.ts).
    http: { headersTimeout: config.timeouts.headersMs, connectionsCheckingInterval: 1000 },
    keepAliveTimeout: config.timeouts.keepAliveMs,
    connectionTimeout: IDLE_SOCKET_MS,
    clientErrorHandler: clientErrorHandler(config.timeouts.headersMs),
    // A URL the router cannot decode (/%zz) gets DRF's shape like every other 400.
    frameworkErrors: (error, _request, reply) => {
      sendError(reply, 400, { detail: error.code === 'FST_ERR_BAD_URL' ? 'Malformed URL: invalid percent-encoding.' : error.message });
    },
    // Every log line of a request carries its id; a load balancer's X-Request-Id is kept when trusted.
    requestIdHeader: false,
    genReqId: (raw) => requestId(raw.headers['x-request-id'], config.trustProxy !== false),
  };
}

/**
 * Base of links in mails: PUBLIC_WEB_URL, or in development this server's own address as it
 * listens. Never the request's Host or X-Forwarded-Host, which a client chooses.
 */
export function webUrl(app: FastifyInstance, config: Config): () => string {
  return () => {
    if (config.accounts.publicWebUrl) return config.accounts.publicWebUrl;
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    const host = ['0.0.0.0', '::', ''].includes(config.host) ? 'localhost' : config.host.includes(':') ? `[${config.host}]` : config.host;
    return `http://${host}:${port}`;
  };
}

/** Where pictures are loaded from when not from this server (a CDN, a bucket): the page's CSP allows it. */
export function mediaOrigins(storage: Storage): string[] {
  const sample = storage.publicUrl(`profile_pictures/0_${'a'.repeat(22)}.jpg`, 'http://this-server.invalid');
  const origin = new URL(sample).origin;
  return origin === 'http://this-server.invalid' ? [] : [origin];
}

export function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
}
