import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { DATABASES } from '../helpers/databases.js';
import { createUser } from '../helpers/factories.js';
import { noisyJpeg } from '../helpers/images.js';

interface Trickle {
  /** Milliseconds from the first byte until the server closed the connection. */
  closedAfterMs: number;
  /** What the server answered before closing, if anything. */
  answer: string;
}

/**
 * A client that sends `head` at once (or nothing), then `drip` one chunk every `everyMs` until
 * the server closes the connection or `giveUpMs` pass.
 */
function trickle(port: number, head: Buffer, drip: Buffer, everyMs: number, giveUpMs = 60_000): Promise<Trickle> {
  return new Promise((resolve) => {
    const started = Date.now();
    const socket: Socket = connect(port, '127.0.0.1');
    const received: Buffer[] = [];
    let timer: NodeJS.Timeout | undefined;
    const done = () => {
      clearInterval(timer);
      clearTimeout(giveUp);
      resolve({ closedAfterMs: Date.now() - started, answer: Buffer.concat(received).toString('utf8') });
    };
    const giveUp = setTimeout(() => {
      socket.destroy();
    }, giveUpMs);
    socket.on('data', (chunk) => received.push(chunk));
    socket.on('close', done);
    socket.on('error', () => undefined);
    socket.on('connect', () => {
      if (head.length > 0) socket.write(head);
      let offset = 0;
      timer = setInterval(() => {
        if (socket.destroyed || !socket.writable) return;
        socket.write(drip.subarray(offset % drip.length, (offset % drip.length) + 1 || undefined));
        offset += 1;
      }, everyMs);
    });
  });
}

/** Default timeouts: what a production server runs with. */
describe('slow clients are cut off (slowloris)', () => {
  let t: TestApp;
  let port: number;
  beforeAll(async () => {
    t = await startTestApp(DATABASES[0]!);
    port = Number(new URL(t.http.baseUrl).port);
  });
  afterAll(async () => t?.close());

  it('headers, a JSON body and an upload trickling in are each cut off within a minute; a slow real upload gets through', async () => {
    const user = await createUser(t.http, 'talent');
    const boundary = 'castfolio-trickle';
    const uploadHead = Buffer.from(
      `POST /api/profile/talent/ HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${user.headers.Authorization}\r\nis-talent: true\r\n` +
        `Content-Type: multipart/form-data; boundary=${boundary}\r\nContent-Length: 5000000\r\n\r\n` +
        `--${boundary}\r\nContent-Disposition: form-data; name="profile_picture"; filename="p.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`,
    );

    // A real phone on a poor link: a photo of about 300 KB at about 40 KB/s, in bursts.
    const photo = await noisyJpeg(480, 420);
    const slowUpload = (async () => {
      const head = `--${boundary}\r\nContent-Disposition: form-data; name="profile_picture"; filename="p.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`;
      const body = Buffer.concat([Buffer.from(head), photo, Buffer.from(`\r\n--${boundary}--\r\n`)]);
      const stream = new ReadableStream<Uint8Array>({
        async start(controller) {
          for (let offset = 0; offset < body.length; offset += 20_000) {
            controller.enqueue(body.subarray(offset, offset + 20_000));
            await new Promise((resolve) => setTimeout(resolve, 500));
          }
          controller.close();
        },
      });
      const res = await fetch(`${t.http.baseUrl}/api/profile/talent/`, {
        method: 'POST',
        headers: { ...user.headers, 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': String(body.length) },
        body: stream,
        duplex: 'half',
      } as RequestInit);
      return { status: res.status, seconds: body.length / 40_000 };
    })();

    const [headers, json, upload, idle, slow] = await Promise.all([
      // One header byte every 2 s: never idle, never done.
      trickle(
        port,
        Buffer.from('POST /api/token/ HTTP/1.1\r\nHost: 127.0.0.1\r\n'),
        Buffer.from('X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'),
        2000,
      ),
      // A complete header, then the JSON body one byte every second.
      trickle(
        port,
        Buffer.from('POST /api/token/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n'),
        Buffer.from('{"email":"slow@example.com","password":"' + 'x'.repeat(150) + '"}'),
        1000,
      ),
      // An upload at a few bytes a second.
      trickle(port, uploadHead, Buffer.from('abcdefghij'), 250),
      // A kept-alive connection that says nothing more after its request.
      trickle(port, Buffer.from('GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'), Buffer.alloc(0), 1_000_000),
      slowUpload,
    ]);

    expect(headers.closedAfterMs).toBeLessThan(60_000);
    expect(headers.answer).toMatch(/^HTTP\/1\.1 408 /);
    expect(headers.answer).toContain('{"detail":"The request headers did not arrive within 15 seconds."}');

    expect(json.closedAfterMs).toBeLessThan(60_000);
    expect(json.answer).toMatch(/^HTTP\/1\.1 408 /);
    expect(json.answer).toContain('{"detail":"The request body did not arrive within 15 seconds."}');

    expect(upload.closedAfterMs).toBeLessThan(60_000);
    expect(upload.answer).toMatch(/^HTTP\/1\.1 408 /);
    expect(upload.answer).toMatch(/"detail":"The upload was too slow/);

    expect(idle.answer).toMatch(/^HTTP\/1\.1 200 /);
    expect(idle.closedAfterMs).toBeLessThan(60_000);

    expect(slow.status).toBe(200);
    // The server is fine, and nothing of the cut-off upload was kept.
    expect((await t.http.get('/api/profile/talent/', user.headers)).status).toBe(200);
  }, 90_000);
});
