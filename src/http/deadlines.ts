import type { IncomingMessage } from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { HttpTimeoutConfig } from '../config.js';
import { ApiError } from '../errors.js';

/** How often an upload's rate is looked at; the window is made of such slots. */
const RATE_SLOT_MS = 2_000;
/** After the 408 is decided, how long the answer may take before the connection is simply cut. */
const ANSWER_GRACE_MS = 2_000;

const hasBody = (raw: IncomingMessage) =>
  raw.headers['transfer-encoding'] !== undefined || (Number(raw.headers['content-length']) || 0) > 0;

const timedOut = (detail: string) => new ApiError(408, { detail }, { Connection: 'close' });

/**
 * Cuts off a request whose body does not arrive (slowloris): a JSON or form body must be complete
 * within `bodyMs`; an upload must keep up at least `uploadMinBytesPerSecond` over every
 * `uploadRateWindowMs`, so a slow phone connection gets through and a trickle does not. Node's own
 * `headersTimeout` covers the headers.
 *
 * The reader of the body (Fastify's JSON parser, the multipart reader) is failed with a 408 error
 * on the body stream, so the answer goes out through the error handler in DRF's shape with
 * `Connection: close`; if no answer has left shortly after, the socket is destroyed.
 */
export function registerBodyDeadlines(app: FastifyInstance, timeouts: HttpTimeoutConfig): void {
  app.addHook('onRequest', (request, reply, done) => {
    const raw = request.raw;
    if (raw.complete || !hasBody(raw)) return done();
    const upload = /^multipart\//i.test(raw.headers['content-type'] ?? '');
    let timer: NodeJS.Timeout | undefined;
    const stop = () => {
      if (timer) clearInterval(timer);
      timer = undefined;
    };
    const cutOff = (error: ApiError) => {
      stop();
      request.log.info({ upload }, 'request body too slow; cut off');
      // Someone reads the body (its 'error' listener is theirs): fail that read with the 408.
      if (raw.listenerCount('error') > 0 && !reply.sent) raw.emit('error', error);
      const socket = raw.socket;
      setTimeout(() => {
        if (!socket.destroyed && !reply.raw.writableFinished) socket.destroy();
      }, ANSWER_GRACE_MS).unref();
    };

    if (upload) {
      const slots = Math.max(1, Math.round(timeouts.uploadRateWindowMs / RATE_SLOT_MS));
      const minimum = (timeouts.uploadMinBytesPerSecond * slots * RATE_SLOT_MS) / 1000;
      // Bytes are counted on the socket: a 'data' listener on the request would start it flowing
      // before its reader is attached.
      const socket = raw.socket;
      let last = socket.bytesRead;
      const received: number[] = [];
      timer = setInterval(() => {
        received.push(socket.bytesRead - last);
        last = socket.bytesRead;
        if (received.length > slots) received.shift();
        // The window is full: it must hold the minimum, or the upload is too slow to finish.
        if (received.length === slots && received.reduce((sum, n) => sum + n, 0) < minimum) {
          cutOff(
            timedOut(
              `The upload was too slow: less than ${timeouts.uploadMinBytesPerSecond} bytes a second arrived. Please try again on a better connection.`,
            ),
          );
        }
      }, RATE_SLOT_MS);
    } else {
      timer = setTimeout(
        () => cutOff(timedOut(`The request body did not arrive within ${Math.round(timeouts.bodyMs / 1000)} seconds.`)),
        timeouts.bodyMs,
      ) as NodeJS.Timeout;
    }
    timer.unref();
    raw.once('end', stop);
    raw.once('close', stop);
    reply.raw.once('finish', stop);
    done();
  });
}

/** A refused body is read and discarded up to this much, so the client gets to read the answer. */
const DRAIN_MAX_BYTES = 64 * 1024 * 1024;
const DRAIN_MAX_MS = 30_000;

/**
 * Reads and discards the rest of a request body that was refused (413) before it was all sent.
 * Answering while the client is still sending and then closing makes most HTTP clients (Node's
 * fetch, mobile stacks) report a broken connection instead of the answer. Bounded in bytes and
 * time; resolves true when the body ended, false when it gave up (the connection is then closed).
 */
export function drainBody(raw: IncomingMessage, maxBytes = DRAIN_MAX_BYTES, maxMs = DRAIN_MAX_MS): Promise<boolean> {
  if (raw.complete) return Promise.resolve(true);
  const declared = Number(raw.headers['content-length']);
  if (raw.destroyed || (Number.isFinite(declared) && declared > maxBytes)) return Promise.resolve(false);
  return new Promise((resolve) => {
    let seen = 0;
    const finish = (ended: boolean) => {
      clearTimeout(timer);
      raw.off('data', onData);
      raw.off('end', onEnd);
      raw.off('error', onFail);
      raw.off('close', onClose);
      resolve(ended);
    };
    const onData = (chunk: Buffer) => {
      seen += chunk.length;
      if (seen > maxBytes) finish(false);
    };
    const onEnd = () => finish(true);
    const onFail = () => finish(false);
    const onClose = () => finish(raw.complete);
    const timer = setTimeout(onFail, maxMs);
    timer.unref();
    raw.unpipe();
    raw.on('data', onData);
    raw.once('end', onEnd);
    raw.once('error', onFail);
    raw.once('close', onClose);
    raw.resume();
  });
}
