import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Http } from '../test/helpers/http.js';
import { noisyJpeg } from '../test/helpers/images.js';
import { buildServer, startServerProcess } from '../test/helpers/process.js';
import { multipartBody, rssMb, sleep } from './lib.js';

/** Memory after a full collection in the server (see SIGUSR2 in src/server.ts), once idle. */
async function settledRssMb(pid: number): Promise<number> {
  await sleep(1000);
  process.kill(pid, 'SIGUSR2');
  await sleep(1500);
  return rssMb(pid);
}

export interface SoakOptions {
  seconds: number;
  warmupSeconds: number;
  concurrency: number;
  /** Allowed RSS growth after warm-up, as a fraction (0.15 = 15 %). */
  maxGrowth: number;
  log?: (line: string) => void;
}

export interface SoakReport {
  requests: number;
  errors: string[];
  byKind: Record<string, number>;
  rssAfterWarmupMb: number;
  rssAfterRunMb: number;
  growth: number;
  passed: boolean;
}

/**
 * A mixed load against the real server on its embedded defaults: profile reads, JSON updates and
 * picture uploads from several clients. Fails on any error, or when memory after the run is more
 * than `maxGrowth` above memory after warm-up.
 */
export async function soak(options: SoakOptions): Promise<SoakReport> {
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  buildServer();
  const cwd = mkdtempSync(path.join(tmpdir(), 'castfolio-soak-'));
  const server = await startServerProcess(
    {
      JWT_SECRET: 'soak-secret-that-is-long-enough-000000000',
      LOG_LEVEL: 'info',
      SERVE_WEB: 'false',
      DELETE_RETRY_INTERVAL: '5',
      // Eight users at full speed exceed the per-user limits by design; the soak measures the rest.
      RATE_LIMIT: 'false',
      // Lets SIGUSR2 run a full collection, so both measurements are taken at the same point of
      // V8's cycle: between collections the heap saw-tooths by far more than 15 %.
      NODE_OPTIONS: '--expose-gc',
    },
    cwd,
  );
  const pid = server.child.pid as number;
  const http = new Http(server.baseUrl);
  try {
    const users: Record<string, string>[] = [];
    for (let i = 0; i < 8; i++) {
      const email = `soak-${i}@example.com`;
      await http.post('/api/register/', {
        email,
        password: 'Soak-Test-2026',
        first_name: 'S',
        last_name: 'K',
        role: 'background',
        date_of_birth: '1980-01-01',
      });
      const token = await http.post('/api/token/', { email, password: 'Soak-Test-2026' });
      users.push({ Authorization: `Bearer ${token.body.access}`, 'is-background': 'true' });
    }
    const pictures = await Promise.all(Array.from({ length: 4 }, (_, i) => noisyJpeg(640 + i * 32, 480)));
    const countries = ['Canada', 'Peru', 'Kenya', 'Japan', 'Norway'];

    const errors: string[] = [];
    const byKind: Record<string, number> = { read: 0, update: 0, upload: 0 };
    let requests = 0;
    let stopAt = 0;

    const one = async (n: number) => {
      const headers = users[n % users.length]!;
      const roll = Math.random();
      const kind = roll < 0.7 ? 'read' : roll < 0.9 ? 'update' : 'upload';
      let status: number;
      try {
        if (kind === 'read') status = (await http.get('/api/profile/background/', headers)).status;
        else if (kind === 'update')
          status = (await http.post('/api/profile/background/', { country: countries[n % countries.length] }, headers)).status;
        else {
          const { body, contentType } = multipartBody('profile_picture', 'p.jpg', pictures[n % pictures.length]!);
          status = (await http.request('POST', '/api/profile/background/', { body, headers: { ...headers, 'content-type': contentType } }))
            .status;
        }
      } catch (error) {
        errors.push(`${kind}: ${(error as Error).message}`);
        return;
      }
      requests += 1;
      byKind[kind] = (byKind[kind] ?? 0) + 1;
      if (status !== 200) errors.push(`${kind}: HTTP ${status}`);
    };

    const timeline: string[] = [];
    const run = async (seconds: number) => {
      stopAt = Date.now() + seconds * 1000;
      const sampler = setInterval(() => timeline.push(rssMb(pid).toFixed(0)), 5000);
      let n = 0;
      await Promise.all(
        Array.from({ length: options.concurrency }, async () => {
          while (Date.now() < stopAt) await one(n++);
        }),
      );
      clearInterval(sampler);
    };

    log(`soak: warming up for ${options.warmupSeconds} s`);
    await run(options.warmupSeconds);
    const rssAfterWarmupMb = await settledRssMb(pid);
    const warmRequests = requests;
    log(`soak: ${warmRequests} requests in warm-up, RSS ${rssAfterWarmupMb.toFixed(1)} MB; loading for ${options.seconds} s`);
    await run(options.seconds);
    const rssAfterRunMb = await settledRssMb(pid);
    const growth = (rssAfterRunMb - rssAfterWarmupMb) / rssAfterWarmupMb;
    const passed = errors.length === 0 && growth <= options.maxGrowth;
    log(
      `soak: ${requests - warmRequests} requests in ${options.seconds} s (${((requests - warmRequests) / options.seconds).toFixed(1)}/s; ` +
        `reads ${byKind.read}, updates ${byKind.update}, uploads ${byKind.upload} overall), ${errors.length} errors, ` +
        `RSS ${rssAfterWarmupMb.toFixed(1)} → ${rssAfterRunMb.toFixed(1)} MB (${(growth * 100).toFixed(1)} %, limit ${(options.maxGrowth * 100).toFixed(0)} %): ${passed ? 'PASS' : 'FAIL'}`,
    );
    log(`soak: RSS every 5 s (MB): ${timeline.join(' ')}`);
    for (const error of errors.slice(0, 10)) log(`  error: ${error}`);
    return { requests, errors, byKind, rssAfterWarmupMb, rssAfterRunMb, growth, passed };
  } finally {
    server.child.kill('SIGTERM');
    await server.exited;
    rmSync(cwd, { recursive: true, force: true });
  }
}
