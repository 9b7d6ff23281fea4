import { request as rawRequest } from 'node:http';

export interface HttpResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export interface RequestOptions {
  json?: unknown;
  form?: FormData;
  urlencoded?: Record<string, string>;
  body?: string | Uint8Array;
  headers?: Record<string, string>;
}

/**
 * An error body in Django REST Framework's shapes: `{"detail": …}`, the live service's
 * `{"message": …}` envelope, its `{"error": …}` refusals (a full gallery, a missing
 * subscription: docs/api.md), or field errors (each field a non-empty list of messages).
 */
export function isDrfShaped(body: unknown): boolean {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return false;
  const record = body as Record<string, unknown>;
  if (typeof record.detail === 'string') return true;
  if (typeof record.message === 'string') return true;
  if (typeof record.error === 'string') return true;
  const values = Object.values(record);
  return values.length > 0 && values.every((v) => Array.isArray(v) && v.length > 0 && v.every((m) => typeof m === 'string'));
}

/** Real HTTP against a listening server: what a client sees, nothing more. */
export class Http {
  constructor(readonly baseUrl: string) {}

  async request<T = any>(method: string, path: string, options: RequestOptions = {}): Promise<HttpResponse<T>> {
    const headers: Record<string, string> = { ...options.headers };
    let body: RequestInit['body'];
    if (options.json !== undefined) {
      headers['content-type'] ??= 'application/json';
      body = JSON.stringify(options.json);
    } else if (options.form) {
      body = options.form;
    } else if (options.urlencoded) {
      headers['content-type'] ??= 'application/x-www-form-urlencoded';
      body = new URLSearchParams(options.urlencoded).toString();
    } else if (options.body !== undefined) {
      body = options.body as RequestInit['body'];
    }
    const response = await fetch(`${this.baseUrl}${path}`, { method, headers, body });
    const text = await response.text();
    let parsed: unknown = text;
    if (response.headers.get('content-type')?.includes('application/json')) parsed = JSON.parse(text);
    return { status: response.status, headers: response.headers, body: parsed as T, text };
  }

  get<T = any>(path: string, headers?: Record<string, string>) {
    return this.request<T>('GET', path, { headers });
  }

  post<T = any>(path: string, json?: unknown, headers?: Record<string, string>) {
    return this.request<T>('POST', path, { json, headers });
  }
}

/**
 * A multipart upload of one file sent in two halves over a raw request: the second half goes once
 * `between` resolves (to look at the server while it holds half a body). Resolves with the status.
 */
export function uploadInTwoHalves(options: {
  url: string;
  headers: Record<string, string>;
  field: string;
  bytes: Buffer;
  between: () => Promise<void>;
  /** The part's file name and declared type (p.jpg, image/jpeg). */
  filename?: string;
  type?: string;
}): Promise<number> {
  const boundary = 'castfolio-halves';
  const { filename = 'p.jpg', type = 'image/jpeg' } = options;
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="${options.field}"; filename="${filename}"\r\nContent-Type: ${type}\r\n\r\n`,
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  const half = Math.floor(options.bytes.length / 2);
  return new Promise<number>((resolve, reject) => {
    const req = rawRequest(
      options.url,
      {
        method: 'POST',
        headers: {
          ...options.headers,
          'content-type': `multipart/form-data; boundary=${boundary}`,
          'content-length': String(head.length + options.bytes.length + tail.length),
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.write(Buffer.concat([head, options.bytes.subarray(0, half)]));
    options.between().then(() => req.end(Buffer.concat([options.bytes.subarray(half), tail])), reject);
  });
}
