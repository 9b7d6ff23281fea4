import { timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { MetricsConfig } from '../config.js';
import { ApiError } from '../errors.js';

/** Prometheus metrics of one process; a registry per app, so tests can build several. */
export class Metrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: 'castfolio_http_requests_total',
    help: 'HTTP requests by method, route and status.',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });
  readonly duration = new Histogram({
    name: 'castfolio_http_request_duration_seconds',
    help: 'HTTP request latency by method, route and status.',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly uploadBytes = new Counter({
    name: 'castfolio_upload_bytes_total',
    help: 'Bytes of uploaded files received.',
    registers: [this.registry],
  });
  readonly imageSeconds = new Histogram({
    name: 'castfolio_image_processing_seconds',
    help: 'Time to validate and re-encode one image, by input format and outcome.',
    labelNames: ['format', 'outcome'] as const,
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });

  constructor(sources: { pendingDeletions: () => Promise<number>; outboxDepth: () => Promise<number> }) {
    collectDefaultMetrics({ register: this.registry, prefix: 'castfolio_' });
    this.queueGauge(
      'castfolio_pending_deletions',
      'Stored objects waiting to be deleted (retried by the worker and the sweep).',
      sources.pendingDeletions,
    );
    this.queueGauge('castfolio_mail_outbox_depth', 'Mails waiting in the outbox.', sources.outboxDepth);
  }

  /** What the upload pipeline reports: bytes received, and time spent on each image by outcome. */
  readonly ingest = {
    uploaded: (bytes: number) => this.uploadBytes.inc(bytes),
    image: (format: string, outcome: 'stored' | 'refused', seconds: number) => this.imageSeconds.observe({ format, outcome }, seconds),
  };

  /** A gauge read from the database on each scrape; NaN when the database does not answer. */
  private queueGauge(name: string, help: string, read: () => Promise<number>): void {
    new Gauge({
      name,
      help,
      registers: [this.registry],
      async collect() {
        this.set(await read().catch(() => Number.NaN));
      },
    });
  }

  /** Counts and times every request by its route pattern (never the raw URL: bounded labels). */
  instrument(app: FastifyInstance): void {
    // One pair of label children per method, route and status: prom-client hashes a label object
    // on every call otherwise (bench/cpu-per-request.ts).
    const series = new Map<string, { count: { inc(): void }; time: { observe(value: number): void } }>();
    app.addHook('onResponse', (request, reply, done) => {
      const method = request.method;
      const route = request.routeOptions.url ?? 'unmatched';
      const status = String(reply.statusCode);
      const key = `${method} ${status} ${route}`;
      let child = series.get(key);
      if (!child) {
        const labels = { method, route, status };
        child = { count: this.requests.labels(labels), time: this.duration.labels(labels) };
        series.set(key, child);
      }
      child.count.inc();
      child.time.observe(reply.elapsedTime / 1000);
      done();
    });
  }
}

const loopback = (ip: string) => ip === '::1' || ip.startsWith('127.') || (isIP(ip) === 6 && ip.startsWith('::ffff:127.'));

/** A connection from this machine that is not relaying someone else's request. */
function directLocalClient(request: FastifyRequest): boolean {
  const relayed =
    request.headers['x-forwarded-for'] !== undefined ||
    request.headers.forwarded !== undefined ||
    request.headers['x-real-ip'] !== undefined;
  return !relayed && loopback(request.socket.remoteAddress ?? '');
}

const sameSecret = (given: string, expected: string) => {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
};

/**
 * GET /metrics: with METRICS_TOKEN it needs `Authorization: Bearer <token>`. With METRICS_PORT
 * the API port does not serve it at all: the internal listener (server.ts) does, to whoever can
 * reach that port. Without either, only in development, a client on this machine connecting
 * directly (no forwarding headers: a reverse proxy on the same host makes everyone look local).
 */
export function registerMetricsRoute(app: FastifyInstance, metrics: Metrics, config: MetricsConfig, internalListener = false): void {
  app.get(
    '/metrics',
    { schema: { tags: ['health'], summary: 'Prometheus metrics (token or loopback only)' } },
    async (request: FastifyRequest, reply: FastifyReply) => {
      if (config.token) {
        if (!sameSecret(request.headers.authorization ?? '', `Bearer ${config.token}`)) {
          throw new ApiError(
            401,
            { detail: 'Authentication credentials were not provided.' },
            { 'WWW-Authenticate': 'Bearer realm="metrics"' },
          );
        }
      } else if (!internalListener && !(config.allowLoopback && directLocalClient(request))) {
        throw new ApiError(403, {
          detail: config.allowLoopback
            ? 'Metrics are served to this machine only; set METRICS_TOKEN to read them remotely.'
            : 'Metrics need METRICS_TOKEN or METRICS_PORT in production.',
        });
      }
      return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
    },
  );
}
