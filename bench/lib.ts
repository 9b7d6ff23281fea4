import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { startOnPort, SERVER_JS } from '../test/helpers/process.js';

/** Resident memory of a process and its children (cluster workers), in MB, from /proc. */
export function rssMb(pid: number): number {
  const pids = [pid];
  try {
    const children = execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' }).trim();
    if (children) pids.push(...children.split('\n').map(Number));
  } catch {
    // no children
  }
  let kb = 0;
  for (const p of pids) {
    try {
      const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${p}/status`, 'utf8'));
      kb += match ? Number(match[1]) : 0;
    } catch {
      // exited meanwhile
    }
  }
  return kb / 1024;
}

/** Samples rssMb every `intervalMs` until stop() and reports the peak (`children: false`: the process alone). */
export function watchPeakRss(pid: number, intervalMs = 25, options: { children?: boolean } = {}): { stop(): number } {
  const read = () => (options.children === false ? ownRssMb(pid) : rssMb(pid));
  let peak = read();
  const timer = setInterval(() => {
    peak = Math.max(peak, read());
  }, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(peak, read());
    },
  };
}

/** Resident memory of one process, in MB. */
export function ownRssMb(pid: number): number {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/** The value at quantile `q` (0–1) of `values`: the nearest rank below, the largest for 1. */
export function percentile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
}

export const median = (values: readonly number[]): number => percentile(values, 0.5);

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A multipart body with one file field, ready for autocannon (which cannot build FormData). */
export function multipartBody(field: string, filename: string, bytes: Buffer, contentType = 'image/jpeg') {
  const boundary = `----castfolio${Math.random().toString(16).slice(2)}`;
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="${field}"; filename="${filename}"\r\nContent-Type: ${contentType}\r\n\r\n`,
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  return { body: Buffer.concat([head, bytes, tail]), contentType: `multipart/form-data; boundary=${boundary}` };
}

/**
 * The built server as the profiling aids run it: production settings, one worker, no rate
 * limits, a fresh data folder; PROFILE_DATABASE_URL points it at PostgreSQL instead of SQLite.
 */
export async function startProfiledServer(dir: string, nodeArgs: string[] = [], env: Record<string, string> = {}) {
  return startOnPort(
    SERVER_JS,
    {
      NODE_ENV: 'production',
      PUBLIC_WEB_URL: 'http://127.0.0.1',
      MAIL_TRANSPORT: 'outbox',
      JWT_SECRET: 'bench-secret-that-is-long-enough-0000000000',
      LOG_LEVEL: 'warn',
      SERVE_WEB: 'false',
      WEB_CONCURRENCY: '1',
      DATA_DIR: dir,
      MIGRATE_ON_START: 'true',
      RATE_LIMIT: 'false',
      ...(process.env.PROFILE_DATABASE_URL ? { DATABASE_URL: process.env.PROFILE_DATABASE_URL } : {}),
      ...env,
    },
    dir,
    nodeArgs,
  );
}
