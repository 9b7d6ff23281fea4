// npm run bench: the API against its own floors, in one run on this machine; writes bench/results.md.
// BENCH_SECONDS (default 8) per load run; TEST_DATABASE_URL (or a local PostgreSQL) for the
// PostgreSQL rows; BENCH_ONLY=get,post,upload,rss,gallery,pictures,small,faces to run a subset.
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import path from 'node:path';
import autocannon from 'autocannon';
import Database from 'better-sqlite3';
import pg from 'pg';
import sharp from 'sharp';
import { buildServer, startOnPort, SERVER_JS, type ServerProcess } from '../test/helpers/process.js';
import { Http } from '../test/helpers/http.js';
import { createPostgresDatabase } from '../test/helpers/databases.js';
import { median, multipartBody, percentile, sleep, watchPeakRss } from './lib.js';
import { heicFrom, heifEncAvailable } from '../test/helpers/heif.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const ONLY = new Set((process.env.BENCH_ONLY ?? 'get,post,upload,rss,gallery,pictures,small,faces').split(','));
const CORES = availableParallelism();
const root = path.resolve(import.meta.dirname, '..');
const PG_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

interface LoadResult {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
  requests: number;
}

async function load(options: autocannon.Options): Promise<LoadResult> {
  const result = await autocannon(options.amount ? options : { ...options, duration: options.duration ?? SECONDS });
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    requests: result.requests.total,
  };
}

async function postgresAvailable(): Promise<boolean> {
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.end();
    return true;
  } catch {
    return false;
  }
}

/** A photo-like JPEG (smooth shapes plus sensor-like noise) of about the wanted size. */
async function photo(width: number, height: number, targetBytes: number): Promise<Buffer> {
  const small = Buffer.alloc(64 * 48 * 3);
  for (let i = 0; i < small.length; i++) small[i] = (Math.random() * 256) | 0;
  const base = await sharp(small, { raw: { width: 64, height: 48, channels: 3 } })
    .resize(width, height, { kernel: 'cubic' })
    .raw()
    .toBuffer();
  let amplitude = 24;
  let best = Buffer.alloc(0);
  for (let attempt = 0; attempt < 10; attempt++) {
    const noisy = Buffer.from(base);
    for (let i = 0; i < noisy.length; i++) noisy[i] = Math.max(0, Math.min(255, (noisy[i]! + (Math.random() - 0.5) * amplitude) | 0));
    best = await sharp(noisy, { raw: { width, height, channels: 3 } })
      .jpeg({ quality: 90 })
      .withMetadata({ orientation: 1 })
      .toBuffer();
    const ratio = best.length / targetBytes;
    if (ratio > 0.92 && ratio <= 1) break;
    amplitude = Math.max(1, Math.min(255, amplitude * (ratio > 1 ? 0.9 / ratio : 1 + (1 - ratio) * 1.5)));
  }
  return best;
}

/**
 * The floor for uploads: the server's own image work on the bytes, `concurrency` at a time, in a
 * process started like the server (bench/image-work.mjs with the server's environment, so its
 * allocator settings and image settings): one decode → master JPEG + WebP variants + ThumbHash, and
 * the face check in its worker thread (unless BENCH_SERVER_ENV turns it off). In the bench's own
 * process, without the allocator settings, the same work read up to a quarter slower on some runs.
 */
async function sharpFloor(bytes: Buffer, concurrency: number, count: number): Promise<{ perPictureMs: number; picturesPerSecond: number }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'castfolio-floor-'));
  try {
    const file = path.join(dir, 'upload');
    writeFileSync(file, bytes);
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [path.join(root, 'bench', 'image-work.mjs'), file, String(count), String(concurrency)],
      { env: { ...process.env, ...SERVER_RUNTIME_ENV }, encoding: 'utf8' },
    );
    return JSON.parse(stdout) as { perPictureMs: number; picturesPerSecond: number };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Uploads timed by the wall clock: autocannon reports in whole seconds, too coarse for a dozen
 * 400 ms uploads. `concurrency` clients send `amount` uploads in all.
 */
/** One multipart POST, answer read: its status and wall-clock milliseconds. */
async function postForm(url: string, headers: Record<string, string>, body: Buffer, contentType: string) {
  const started = performance.now();
  const res = await fetch(url, { method: 'POST', body, headers: { ...headers, 'content-type': contentType } });
  await res.arrayBuffer();
  return { status: res.status, ms: performance.now() - started };
}

async function uploads(target: Target, body: Buffer, contentType: string, concurrency: number, amount: number) {
  const latencies: number[] = [];
  let errors = 0;
  let sent = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (sent < amount) {
        sent += 1;
        const { status, ms } = await postForm(`${target.server.baseUrl}/api/profile/background/`, target.headers, body, contentType);
        latencies.push(ms);
        if (status !== 200) errors += 1;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return { seconds, p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99), errors };
}

interface Target {
  label: string;
  /** The server's environment (beyond this process's). */
  env: Record<string, string>;
  server: ServerProcess;
  http: Http;
  headers: Record<string, string>;
  email: string;
  /** The server's DATA_DIR (its SQLite file is data.db's sibling there). */
  dir: string;
  /** Runs the admin CLI against this server's database. */
  cli(...args: string[]): void;
  close(): Promise<void>;
}

/** Registers a background user and signs in: the headers its requests carry. */
async function backgroundUser(http: Http, email: string): Promise<Record<string, string>> {
  const password = 'Bench-Mark-2026';
  await http.post('/api/register/', {
    email,
    password,
    first_name: 'B',
    last_name: 'M',
    role: 'background',
    country: 'USA',
    gender: 'Male',
    date_of_birth: '1985-05-15',
  });
  const token = await http.post('/api/token/', { email, password });
  return { authorization: `Bearer ${token.body.access}`, 'is-background': 'true' };
}

/**
 * The allocator settings and the young-generation cap `npm start` gives the server (see README,
 * Quick start), then BENCH_SERVER_ENV's (BENCH_SERVER_ENV='{"IMAGE_CONCURRENCY":"1"}' tries other
 * settings): the environment of every server and of the processes that measure image work beside them.
 */
const SERVER_RUNTIME_ENV: Record<string, string> = {
  MALLOC_ARENA_MAX: '1',
  MALLOC_MMAP_THRESHOLD_: '131072',
  GLIBC_TUNABLES: 'glibc.malloc.hugetlb=1',
  NODE_OPTIONS: '--max-semi-space-size=16',
  ...(JSON.parse(process.env.BENCH_SERVER_ENV ?? '{}') as Record<string, string>),
};

async function startCastfolio(database: 'sqlite' | 'postgres', workers: number, extraEnv: Record<string, string> = {}): Promise<Target> {
  const dir = mkdtempSync(path.join(tmpdir(), 'castfolio-bench-'));
  const pgDb = database === 'postgres' ? await createPostgresDatabase(PG_URL, 'castfolio_bench') : undefined;
  const env: Record<string, string> = {
    NODE_ENV: 'production',
    PUBLIC_WEB_URL: 'http://127.0.0.1',
    MAIL_TRANSPORT: 'outbox',
    JWT_SECRET: 'bench-secret-that-is-long-enough-0000000000',
    LOG_LEVEL: 'warn',
    SERVE_WEB: 'false',
    WEB_CONCURRENCY: String(workers),
    DATA_DIR: dir,
    MIGRATE_ON_START: 'true',
    UPLOAD_TMP_DIR: path.join(dir, 'uploads'),
    ...(pgDb ? { DATABASE_URL: pgDb.url } : {}),
    // One client address and one user send everything: per-user limits would measure the limiter.
    RATE_LIMIT: 'false',
    ...SERVER_RUNTIME_ENV,
    ...extraEnv,
  };
  const server = await startOnPort(SERVER_JS, env, dir);
  const http = new Http(server.baseUrl);
  const email = 'bench@example.com';
  const headers = await backgroundUser(http, email);
  return {
    label: `${database}, ${workers} worker${workers === 1 ? '' : 's'}`,
    env,
    server,
    http,
    headers,
    email,
    dir,
    cli: (...args: string[]) => {
      execFileSync(process.execPath, [path.join(root, 'dist', 'cli.js'), ...args], { env: { ...process.env, ...env }, stdio: 'ignore' });
    },
    close: async () => {
      server.child.kill('SIGTERM');
      await server.exited;
      await pgDb?.drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const fmt = (n: number, digits = 0) => n.toFixed(digits);
const lines: string[] = [];
const out = (line = '') => {
  lines.push(line);
  process.stdout.write(`${line}\n`);
};

async function main(): Promise<void> {
  buildServer();
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  out('# castfolio benchmarks');
  out();
  out(`Measured ${new Date().toISOString()} on ${cpu}, ${CORES} cores, Node.js ${process.version}, ${process.platform}.`);
  out(`Each load run lasts ${SECONDS} s (autocannon in the same machine, so client and server share the cores);`);
  out('servers run with NODE_ENV=production and LOG_LEVEL=warn. Ratios compare runs of this same session.');
  out();

  const databases: ('sqlite' | 'postgres')[] = ['sqlite'];
  if (await postgresAvailable()) databases.push('postgres');
  else out('_PostgreSQL not reachable: PostgreSQL rows skipped._\n');
  const workerCounts = [...new Set([1, CORES])];

  // Floors: a bare Fastify answering fixed JSON of the same size as the real responses.
  const probe = await startCastfolio('sqlite', 1);
  const getSample = await probe.http.get('/api/profile/background/', probe.headers);
  const postSample = await probe.http.post('/api/profile/background/', { country: 'Canada' }, probe.headers);
  await probe.close();
  const floorDir = mkdtempSync(path.join(tmpdir(), 'castfolio-floor-'));
  writeFileSync(path.join(floorDir, 'get.json'), getSample.text);
  writeFileSync(path.join(floorDir, 'post.json'), postSample.text);
  const floorServer = await startOnPort(path.join(root, 'bench', 'floor-server.mjs'), {
    FLOOR_GET_BODY: path.join(floorDir, 'get.json'),
    FLOOR_POST_BODY: path.join(floorDir, 'post.json'),
  });
  const floorUrl = `${floorServer.baseUrl}/floor`;
  const postBody = JSON.stringify({ country: 'Canada' });

  if (ONLY.has('get') || ONLY.has('post')) {
    const floorGet = await load({ url: floorUrl, connections: 16 });
    const floorPost = await load({
      url: floorUrl,
      method: 'POST',
      connections: 16,
      body: postBody,
      headers: { 'content-type': 'application/json' },
    });
    out('## JSON endpoints');
    out();
    out(
      `Floor: bare Fastify route, same response size (${getSample.text.length} B for GET, ${postSample.text.length} B for POST), 16 connections: ` +
        `GET ${fmt(floorGet.rps)} req/s (p50 ${floorGet.p50} ms, p99 ${floorGet.p99} ms), POST ${fmt(floorPost.rps)} req/s (p50 ${floorPost.p50} ms, p99 ${floorPost.p99} ms).`,
    );
    out();
    out('| endpoint | setup | req/s | p50 ms | p99 ms | errors | ratio to floor | target |');
    out('|---|---|---:|---:|---:|---:|---:|---|');
    for (const database of databases) {
      for (const workers of workerCounts) {
        const target = await startCastfolio(database, workers);
        try {
          if (ONLY.has('get')) {
            const r = await load({ url: `${target.server.baseUrl}/api/profile/background/`, connections: 16, headers: target.headers });
            out(
              `| GET /api/profile/background/ | ${target.label} | ${fmt(r.rps)} | ${r.p50} | ${r.p99} | ${r.errors + r.non2xx} | ${fmt((100 * r.rps) / floorGet.rps)} % | ≥ 40 % |`,
            );
          }
          if (ONLY.has('post')) {
            const r = await load({
              url: `${target.server.baseUrl}/api/profile/background/`,
              method: 'POST',
              connections: 16,
              body: postBody,
              headers: { ...target.headers, 'content-type': 'application/json' },
            });
            out(
              `| POST JSON profile update | ${target.label} | ${fmt(r.rps)} | ${r.p50} | ${r.p99} | ${r.errors + r.non2xx} | ${fmt((100 * r.rps) / floorPost.rps)} % | — |`,
            );
          }
        } finally {
          await target.close();
        }
      }
    }
    out();
  }
  floorServer.child.kill('SIGTERM');
  await floorServer.exited;
  rmSync(floorDir, { recursive: true, force: true });

  if (ONLY.has('upload')) {
    const pictures = [
      { label: '12 MP JPEG', bytes: await photo(4000, 3000, 4 * 1024 * 1024), count: { 1: 12, 4: 24 } as Record<number, number> },
      { label: '1 MP photo', bytes: await photo(1200, 900, 350 * 1024), count: { 1: 60, 4: 120 } as Record<number, number> },
    ];
    out('## Picture uploads');
    out();
    out(
      'Floor: the image work alone (sanitiseImage: one decode → master JPEG at 2048 px + five WebP variants + ThumbHash, and the face check in its worker thread as the server runs it), in a process started with the server’s environment (bench/image-work.mjs), on the same bytes at the same concurrency. ' +
        `Per-picture time = wall time × concurrency / pictures. ${UPLOAD_ROUNDS} rounds of uploads and of the floor, every other round the floor first; p50 and per-picture times are the rounds' medians, p99 the highest, the ratio the median of the rounds' ratios (their range in brackets). SQLite, local storage.`,
    );
    out();
    out(
      '| picture | setup | concurrency | pictures/s | p50 ms | p99 ms | errors | per-picture ms | image work floor ms | ratio | target |',
    );
    out('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|');
    for (const workers of workerCounts) {
      const target = await startCastfolio('sqlite', workers);
      try {
        for (const picture of pictures) {
          const { body, contentType } = multipartBody('profile_picture', 'photo.jpg', picture.bytes);
          for (const concurrency of [1, 4]) {
            const amount = picture.count[concurrency]! / UPLOAD_ROUNDS;
            // Warm the pipeline first, as the floor does.
            await uploads(target, body, contentType, 1, 2);
            // Rounds of uploads and of the floor in turns: each round gives a ratio, and the median is reported.
            const rounds: { server: Awaited<ReturnType<typeof uploads>>; perPicture: number; floor: number }[] = [];
            for (let round = 0; round < UPLOAD_ROUNDS; round++) {
              const [server, floor] = await inTurns(
                round,
                () => uploads(target, body, contentType, concurrency, amount),
                () => sharpFloor(picture.bytes, concurrency, amount),
              );
              rounds.push({ server, perPicture: (server.seconds * 1000 * concurrency) / amount, floor: floor.perPictureMs });
            }
            const seconds = rounds.reduce((sum, r) => sum + r.server.seconds, 0);
            const ratios = rounds.map((r) => r.perPicture / r.floor);
            out(
              `| ${picture.label} (${fmt(picture.bytes.length / 1024 / 1024, 1)} MB) | ${target.label} | ${concurrency} | ${fmt((amount * UPLOAD_ROUNDS) / seconds, 1)} | ${fmt(median(rounds.map((r) => r.server.p50)))} | ${fmt(Math.max(...rounds.map((r) => r.server.p99)))} | ${rounds.reduce((sum, r) => sum + r.server.errors, 0)} | ${fmt(median(rounds.map((r) => r.perPicture)))} | ${fmt(median(rounds.map((r) => r.floor)))} | ${fmt(median(ratios), 2)}× (${fmt(Math.min(...ratios), 2)}–${fmt(Math.max(...ratios), 2)}) | ≤ 1.25× |`,
            );
          }
        }
      } finally {
        await target.close();
      }
    }
    out();
  }

  if (ONLY.has('rss')) {
    // As large as the default limit (10 MiB) allows.
    const big = await photo(4000, 3000, 10 * 1024 * 1024 - 64 * 1024);
    out('## Memory under 32 simultaneous 10 MB uploads');
    out();
    out('| setup | upload size | clients | answered 200 | other answers | peak RSS (all processes) | target |');
    out('|---|---:|---:|---:|---:|---:|---|');
    for (const workers of workerCounts) {
      const target = await startCastfolio('sqlite', workers);
      try {
        const { body, contentType } = multipartBody('profile_picture', 'big.jpg', big);
        await sleep(500);
        const watcher = watchPeakRss(target.server.child.pid as number);
        const statuses = await Promise.all(
          Array.from({ length: 32 }, () =>
            postForm(`${target.server.baseUrl}/api/profile/background/`, target.headers, body, contentType).then(
              (r) => r.status,
              () => 0,
            ),
          ),
        );
        const peak = watcher.stop();
        const ok = statuses.filter((s) => s === 200).length;
        const other = statuses.filter((s) => s !== 200);
        out(
          `| ${target.label} | ${fmt(big.length / 1024 / 1024, 1)} MB | 32 | ${ok} | ${other.length === 0 ? 'none' : other.join(', ')} | ${fmt(peak)} MB | ≤ 300 MB |`,
        );
      } finally {
        await target.close();
      }
    }
    out();
  }

  if (ONLY.has('gallery')) await galleryBench(databases);
  if (ONLY.has('pictures')) await picturesBench();
  if (ONLY.has('small')) await smallUploadBench();
  if (ONLY.has('faces')) await facesBench();

  // Sections this run did not measure (BENCH_ONLY, and bench:import's own) are kept as they were.
  const previous = sectionsOf(readFileSync(path.join(root, 'bench', 'results.md'), 'utf8'));
  const measured = sectionsOf(lines.join('\n'));
  const merged = [...previous.keys(), ...measured.keys()].filter((title, i, all) => all.indexOf(title) === i);
  // A partial run keeps the header of the full run the other sections come from, and dates its own.
  const partial = process.env.BENCH_ONLY !== undefined;
  const stamp = `_This section: \`BENCH_ONLY=${process.env.BENCH_ONLY}\` run of ${new Date().toISOString()} on ${cpus()[0]?.model ?? 'unknown CPU'}, Node.js ${process.version}; the header's run measured the others._`;
  const body = merged.map((title) => {
    const fresh = measured.get(title);
    if (!fresh) return previous.get(title)!.trimEnd();
    if (!partial) return fresh.trimEnd();
    return title === '' ? (previous.get(title) ?? fresh).trimEnd() : `${fresh.trimEnd()}\n\n${stamp}`;
  });
  writeFileSync(path.join(root, 'bench', 'results.md'), `${body.join('\n\n')}\n`);
  process.stdout.write('\nwritten to bench/results.md\n');
}

/** A gallery photo upload for the bench user. */
async function addToGallery(target: Target, bytes: Buffer, filename: string, type: string): Promise<number> {
  const form = new FormData();
  form.append('media_file', new Blob([bytes], { type }), filename);
  form.append('name', filename);
  const res = await fetch(`${target.server.baseUrl}/api/profile/background/media/`, {
    method: 'POST',
    body: form,
    headers: target.headers,
  });
  await res.arrayBuffer();
  return res.status;
}

/** A synthetic phone video of about `megabytes` (random pixels at a fixed bitrate), made by Debian's ffmpeg. */
function syntheticVideo(megabytes: number): Buffer {
  const dir = mkdtempSync(path.join(tmpdir(), 'castfolio-bench-video-'));
  try {
    const seconds = 10;
    const kbps = Math.round((megabytes * 8 * 1024) / seconds);
    const file = path.join(dir, 'big.mp4');
    execFileSync('ffmpeg', [
      '-v',
      'error',
      '-y',
      '-f',
      'lavfi',
      '-i',
      'nullsrc=size=1280x720:rate=30,geq=random(1)*255:128:128',
      '-f',
      'lavfi',
      '-i',
      'sine=frequency=440',
      '-t',
      String(seconds),
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      '-pix_fmt',
      'yuv420p',
      '-b:v',
      `${kbps}k`,
      '-minrate',
      `${kbps}k`,
      '-maxrate',
      `${kbps}k`,
      '-bufsize',
      `${kbps}k`,
      '-x264-params',
      'nal-hrd=cbr',
      '-c:a',
      'aac',
      '-metadata',
      'location=+48.8584+002.2945/',
      file,
    ]);
    return readFileSync(file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** CPU seconds (user + system) a process has used, from /proc. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** A load run with the server's own CPU time per request (steadier than req/s when client and server share the cores). */
async function loadWithCpu(target: Target, options: autocannon.Options) {
  const pid = target.server.child.pid as number;
  const before = cpuSeconds(pid);
  const result = await load(options);
  return { ...result, cpuUs: ((cpuSeconds(pid) - before) * 1e6) / Math.max(1, result.requests) };
}

/**
 * One round of a comparison: `a` then `b` in even rounds, `b` then `a` in odd ones, so neither
 * side always runs in the other's wake (and a noisy minute weighs on both sides of some round).
 */
async function inTurns<A, B>(round: number, a: () => Promise<A>, b: () => Promise<B>): Promise<[A, B]> {
  if (round % 2 === 0) {
    const first = await a();
    return [first, await b()];
  }
  const second = await b();
  return [await a(), second];
}

/** Pairs of alternating gallery read runs. */
const GALLERY_ROUNDS = 9;
/** Rounds of uploads against the image work alone (each side's count of pictures split among them). */
const UPLOAD_ROUNDS = 3;
/** Pairs of profile-read runs in pairedProfileReads. */
const READ_PAIRS = 21;

async function galleryBench(databases: ('sqlite' | 'postgres')[]): Promise<void> {
  out('## Gallery');
  out();
  out(
    `GET /api/profile/background/ for a user with an empty gallery (the profile read before the gallery existed) and one with a full 15-photo gallery, ` +
      `same server, 16 connections, 1 worker, ${GALLERY_ROUNDS} alternating pairs of runs; the ratios are the medians of the pairs' ratios (their range in brackets); server CPU per request read from /proc. ` +
      'Then one 50 MB phone video uploaded to the gallery of a server idle for 15 s (settled after start-up), peak RSS sampled from /proc every 10 ms.',
  );
  out();
  out(
    '| database | empty gallery req/s | server CPU µs/req | 15-photo gallery req/s | server CPU µs/req | response bytes | req/s ratio | CPU ratio | target |',
  );
  out('|---|---:|---:|---:|---:|---:|---:|---:|---|');
  for (const database of databases) {
    const target = await startCastfolio(database, 1);
    try {
      target.cli('subscription', 'grant', target.email, 'background_jobs');
      // A second user, same server, with an empty gallery: the profile read as it was before the gallery.
      const emptyHeaders = await backgroundUser(target.http, 'bench-empty@example.com');
      target.cli('subscription', 'grant', 'bench-empty@example.com', 'background_jobs');
      for (let i = 0; i < 15; i++) {
        const status = await addToGallery(target, await photo(1600, 2000, 600 * 1024), `look-${i}.jpg`, 'image/jpeg');
        if (status !== 201) throw new Error(`gallery upload answered ${status}`);
      }
      const url = `${target.server.baseUrl}/api/profile/background/`;
      const bytes = (await target.http.get('/api/profile/background/', emptyHeaders)).text.length;
      const fullBytes = (await target.http.get('/api/profile/background/', target.headers)).text.length;
      await load({ url, connections: 16, headers: emptyHeaders, amount: 2000 });
      await load({ url, connections: 16, headers: target.headers, amount: 2000 });
      // Alternate short runs, so a noisy neighbour hits both sides alike. Each round's pair gives a
      // ratio; the median of those paired ratios is reported (with their range), which drifts far
      // less on a shared machine than a ratio of two medians.
      const empties: Awaited<ReturnType<typeof loadWithCpu>>[] = [];
      const fulls: Awaited<ReturnType<typeof loadWithCpu>>[] = [];
      const run = (headers: Record<string, string>) =>
        loadWithCpu(target, { url, connections: 16, headers, duration: Math.max(2, SECONDS / 4) });
      for (let round = 0; round < GALLERY_ROUNDS; round++) {
        const [empty, full] = await inTurns(
          round,
          () => run(emptyHeaders),
          () => run(target.headers),
        );
        empties.push(empty);
        fulls.push(full);
      }
      const range = (values: number[]) => `${fmt(Math.min(...values), 2)}–${fmt(Math.max(...values), 2)}`;
      const rpsRatios = empties.map((empty, i) => empty.rps / fulls[i]!.rps);
      const cpuRatios = fulls.map((full, i) => full.cpuUs / empties[i]!.cpuUs);
      const empty = { rps: median(empties.map((r) => r.rps)), cpuUs: median(empties.map((r) => r.cpuUs)) };
      const full = { rps: median(fulls.map((r) => r.rps)), cpuUs: median(fulls.map((r) => r.cpuUs)) };
      out(
        `| ${database} | ${fmt(empty.rps)} | ${fmt(empty.cpuUs)} | ${fmt(full.rps)} | ${fmt(full.cpuUs)} | ${bytes} → ${fullBytes} | ` +
          `${fmt(median(rpsRatios), 2)}× (${range(rpsRatios)}) | ${fmt(median(cpuRatios), 2)}× (${range(cpuRatios)}) | ≤ 1.2× |`,
      );
    } finally {
      await target.close();
    }
  }
  out();

  const video = syntheticVideo(50);
  const target = await startCastfolio('sqlite', 1);
  try {
    target.cli('subscription', 'grant', target.email, 'background_jobs');
    // A server serving traffic has long left its start-up: V8's memory reducer gives back the
    // start-up heap about 10 s after the process goes quiet (145 → 111 MB here), so the upload is
    // measured on a settled server, as in production.
    await sleep(15_000);
    const pid = target.server.child.pid as number;
    const idle = watchPeakRss(pid, 25, { children: false }).stop();
    const server = watchPeakRss(pid, 10, { children: false });
    const withTools = watchPeakRss(pid, 10);
    const started = performance.now();
    const status = await addToGallery(target, video, 'reel.mp4', 'video/mp4');
    const seconds = (performance.now() - started) / 1000;
    const peak = server.stop();
    const peakWithTools = withTools.stop();
    out('| upload | answer | seconds | server RSS before | server peak RSS | peak with its ffprobe/ffmpeg children | target |');
    out('|---|---:|---:|---:|---:|---:|---|');
    out(
      `| ${fmt(video.length / 1024 / 1024, 1)} MB H.264 MP4 video, SQLite, local storage | ${status} | ${fmt(seconds, 1)} | ${fmt(idle)} MB | ${fmt(peak)} MB (+${fmt(peak - idle)}) | ${fmt(peakWithTools)} MB | < 150 MB |`,
    );
  } finally {
    await target.close();
  }
  out();
}

await main();

/** A results file split at its "## " headings (the part before the first is keyed ""), in order. */
function sectionsOf(text: string): Map<string, string> {
  const sections = new Map<string, string>();
  const parts = text.split(/^(?=## )/m);
  for (const part of parts) sections.set(part.startsWith('## ') ? part.slice(0, part.indexOf('\n')) : '', part);
  return sections;
}

async function picturesBench(): Promise<void> {
  out('## Pictures v2');
  out();
  const camera = await photo(4000, 3000, 4 * 1024 * 1024);
  // Phones hold headshots upright: the same camera's photo in portrait, whose avatar frame lies inside its card frame.
  const upright = await photo(3000, 4000, 4 * 1024 * 1024);
  const dir = mkdtempSync(path.join(tmpdir(), 'castfolio-pictures-'));
  try {
    out(
      'CPU for one picture, in one process, 15 pairs, every other one run in the other order (medians): ' +
        'the single-output pipeline before this version (header read, then decode → rotate → resize 2048 → JPEG) against this version’s ' +
        "(one decode → master JPEG + five WebP variants + ThumbHash), in a process with the server's environment (bench/pipeline-cpu.mjs). " +
        'The budget is for a 12 MP camera JPEG: the first two rows are synthetic (smooth gradients with noise in every pixel, 4 MB, 4:4:4 chroma: ' +
        'the costliest kind of JPEG to decode), the next two real cameras’ photographs saved as phones save theirs. The rows after them show ' +
        'how the ratio depends on the picture: what this version adds costs about the same on any picture of this size, while the ' +
        "decode before it costs less on a smoother or smaller JPEG (Debian's mate-backgrounds, lomiri-wallpapers-20.04 and plasma-workspace-wallpapers, when installed).",
    );
    out();
    out(
      '| picture | single output (before) CPU ms | master + variants + placeholder CPU ms | added CPU ms | ratio (median of pairs, range) | target |',
    );
    out('|---|---:|---:|---:|---:|---|');
    const row = async (label: string, file: string, target: string) => {
      // In a process with the server's environment, as the server runs it.
      const { stdout } = await promisify(execFile)(process.execPath, [path.join(root, 'bench', 'pipeline-cpu.mjs'), file, '15'], {
        env: { ...process.env, ...SERVER_RUNTIME_ENV },
        encoding: 'utf8',
      });
      const pairs = JSON.parse(stdout) as { before: number; now: number }[];
      const ratios = pairs.map((pair) => pair.now / pair.before);
      out(
        `| ${label}, ${fmt(statSync(file).size / 1024 / 1024, 1)} MB | ${fmt(median(pairs.map((p) => p.before)))} | ${fmt(median(pairs.map((p) => p.now)))} | ${fmt(median(pairs.map((p) => p.now - p.before)))} | ${fmt(median(ratios), 2)}× (${fmt(Math.min(...ratios), 2)}–${fmt(Math.max(...ratios), 2)}) | ${target} |`,
      );
    };
    for (const [label, bytes] of [
      ['12 MP synthetic JPEG (noise in every pixel), 4000 × 3000 (landscape)', camera],
      ['12 MP synthetic JPEG (noise in every pixel), 3000 × 4000 (portrait)', upright],
    ] as const) {
      const file = path.join(dir, 'camera.jpg');
      writeFileSync(file, bytes);
      await row(label, file, '≤ 1.3×');
    }
    /** A Debian picture cut to 4000 × 3000, as a JPEG at quality 92 (sharp's chroma at that quality is 4:4:4; phones save 4:2:0). */
    const cutTo12Mp = async (source: string, name: string, chromaSubsampling?: '4:2:0') => {
      const file = path.join(dir, name);
      await sharp(source).resize(4000, 3000, { fit: 'cover' }).jpeg({ quality: 92, chromaSubsampling }).toFile(file);
      return file;
    };
    // 12 MP JPEGs from real cameras' photographs, saved as a phone saves its photos (quality 92, 4:2:0
    // chroma): their decode costs what a phone's photo does, where the synthetic noise above is the
    // costliest kind to decode. From Debian packages, when installed.
    for (const [label, source, origin] of [
      ['a nuthatch on a tree, blurred background', '/usr/share/backgrounds/Kleiber_by_Lukas_Baubkus.jpg', 'lomiri-wallpapers-20.04'],
      ['a painting photographed with a Sony RX100 IV', '/usr/share/backgrounds/mate/abstract/Elephants_5640x3172.jpg', 'mate-backgrounds'],
    ] as const) {
      if (!existsSync(source)) {
        out(`| 12 MP camera photograph (${label}) | ${origin} is not installed: skipped | | | | |`);
        continue;
      }
      const file = await cutTo12Mp(source, 'photograph.jpg', '4:2:0');
      await row(`12 MP camera photograph (${label}; ${origin}, cut to 4000 × 3000, JPEG quality 92, 4:2:0)`, file, '≤ 1.3×');
    }
    const wallpapers = '/usr/share/wallpapers';
    const painting = path.join(wallpapers, 'SafeLanding/contents/images/5120x2880.jpg');
    if (existsSync(painting)) {
      const file = await cutTo12Mp(painting, 'painting.jpg');
      await row('12 MP painting (SafeLanding cut to 4000 × 3000, JPEG quality 92)', file, '');
      for (const name of ['Autumn', 'BytheWater', 'ColdRipple', 'EveningGlow', 'Path']) {
        const photograph = path.join(wallpapers, name, 'contents/images/2560x1600.jpg');
        if (existsSync(photograph)) await row(`4 MP photograph (${name}, 2560 × 1600 as packaged)`, photograph, '');
      }
    } else {
      out("| Debian's pictures | plasma-workspace-wallpapers is not installed: skipped | | | | |");
    }
    out();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  // HEIC uploads through the server: latency of one at a time, then peak RSS with four in flight.
  if (await heifEncAvailable()) {
    // Tagged Display P3, as iPhones tag their photos: the server converts those colours to sRGB.
    const heic = await heicFrom(await sharp(camera).withIccProfile('p3').jpeg({ quality: 92 }).toBuffer(), 'jpg', 50);
    const target = await startCastfolio('sqlite', 1);
    try {
      const { body, contentType } = multipartBody('profile_picture', 'IMG_0001.HEIC', heic);
      const send = async () => {
        const { status, ms } = await postForm(`${target.server.baseUrl}/api/profile/background/`, target.headers, body, contentType);
        return { status, seconds: ms / 1000 };
      };
      await send();
      const times: number[] = [];
      const statuses: number[] = [];
      for (let i = 0; i < 7; i++) {
        const r = await send();
        times.push(r.seconds);
        statuses.push(r.status);
      }
      await sleep(500);
      const watcher = watchPeakRss(target.server.child.pid as number, 10);
      const parallel = await Promise.all(Array.from({ length: 4 }, send));
      const peak = watcher.stop();
      out('| HEIC upload (12 MP, SQLite, local storage) | answers | p50 s | max s | target |');
      out('|---|---|---:|---:|---|');
      out(
        `| ${fmt(heic.length / 1024 / 1024, 1)} MB, one at a time, 7 uploads | ${[...new Set(statuses)].join(', ')} | ${fmt(median(times), 2)} | ${fmt(percentile(times, 1), 2)} | p50 ≤ 2.5 s |`,
      );
      out(
        `| four at once: peak RSS of the server (worker threads included) | ${[...new Set(parallel.map((r) => r.status))].join(', ')} | ${fmt(Math.max(...parallel.map((r) => r.seconds)), 2)} | ${fmt(peak)} MB | ≤ 450 MB |`,
      );
      out();
    } finally {
      await target.close();
    }
  } else out('_heif-enc (Debian libheif-examples) not installed: HEIC rows skipped._\n');

  // GET profile with a described picture (one more joined row) against one whose picture has no record.
  const target = await startCastfolio('sqlite', 1);
  try {
    const { body, contentType } = multipartBody('profile_picture', 'photo.jpg', await photo(1600, 2000, 600 * 1024));
    const post = (headers: Record<string, string>) =>
      postForm(`${target.server.baseUrl}/api/profile/background/`, headers, body, contentType);
    await post(target.headers);
    const plainHeaders = await backgroundUser(target.http, 'bench-plain@example.com');
    await post(plainHeaders);
    // As a picture stored before this version: no record (clients get profile_picture_info: null).
    const plainPicture = (await target.http.get('/api/profile/background/', plainHeaders)).body.profile.profile_picture as string;
    const name = plainPicture.slice(plainPicture.indexOf('/media/') + '/media/'.length);
    const db = new Database(path.join(target.dir, 'castfolio.db'));
    const dropped = db.prepare('delete from pictures where name = ?').run(name).changes;
    db.close();
    if (dropped !== 1) throw new Error('the plain picture had no record to drop');
    await pairedProfileReads(
      target,
      {
        subject: { label: 'picture with variants described', headers: target.headers },
        baseline: { label: 'the same without a picture record', headers: plainHeaders },
      },
      'not slower',
    );
  } finally {
    await target.close();
  }
}

/**
 * A small photo's upload overhead: the server's time per profile-picture upload, less what a bare
 * Fastify route takes to receive the same body into memory and answer (bench/floor-server.mjs: the
 * HTTP and multipart floor, client costs included in both), less the image work alone
 * (sanitiseImage with the same outputs, in this process, on the same bytes). Medians of uploads
 * one at a time; CPU from /proc over all of them.
 */
async function smallUploadBench(): Promise<void> {
  const UPLOADS = 40;
  out('## Small uploads');
  out();
  out(
    `A small photo's upload overhead beyond the image work: ${UPLOADS} profile-picture uploads one at a time (SQLite, local storage, 1 worker), ` +
      'less the same body sent to a bare Fastify route that reads it into memory (the HTTP floor), less the image work alone ' +
      "(the same decode → master + variants + ThumbHash on the same bytes, in a process with the server's environment: bench/image-work.mjs). A second round of the same uploads reads the server's own image-work time " +
      '(castfolio_image_processing_seconds) after each and sends the same body to the floor right after it: the overhead in the same requests is the median over those pairs of the latency less its image work, less the floor request beside it. Medians; CPU read from /proc over all uploads.',
  );
  out();
  out(
    '| photo | upload ms | floor ms | image work ms | overhead ms | image work in the server ms | overhead in the same requests ms | upload CPU ms | floor CPU ms | image work CPU ms | overhead CPU ms | target |',
  );
  out('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|');
  const floorDir = mkdtempSync(path.join(tmpdir(), 'castfolio-floor-'));
  const metricsToken = 'bench-metrics-token-000000000000';
  const target = await startCastfolio('sqlite', 1, { METRICS_TOKEN: metricsToken });
  /** The server's own total of image work (castfolio_image_processing_seconds), in ms. */
  const imageWorkMs = async () => {
    const res = await fetch(`${target.server.baseUrl}/metrics`, { headers: { authorization: `Bearer ${metricsToken}` } });
    const text = await res.text();
    let seconds = 0;
    for (const line of text.split('\n'))
      if (line.startsWith('castfolio_image_processing_seconds_sum')) seconds += Number(line.split(' ').pop());
    return seconds * 1000;
  };
  try {
    const sample = await target.http.post('/api/profile/background/', { country: 'Canada' }, target.headers);
    writeFileSync(path.join(floorDir, 'post.json'), sample.text);
    writeFileSync(path.join(floorDir, 'get.json'), '{}');
    const floor = await startOnPort(path.join(root, 'bench', 'floor-server.mjs'), {
      FLOOR_GET_BODY: path.join(floorDir, 'get.json'),
      FLOOR_POST_BODY: path.join(floorDir, 'post.json'),
    });
    // Uploads one at a time: median latency, and the process's CPU per upload over all of them.
    // With `floorUrl`, a second round reads the server's image-work total after each upload and
    // sends the same body to the floor right after it: the median over those pairs of (latency -
    // that upload's image work - the floor's latency) is the overhead in the same requests, each
    // against the floor at the same moment (the host's load drifts between rounds by as much as
    // the budget).
    const timed = async (pid: number, url: string, headers: Record<string, string>, bytes: Buffer, floorUrl?: string) => {
      const { body, contentType } = multipartBody('profile_picture', 'small.jpg', bytes);
      const send = async (to = url, withHeaders = headers) => {
        const { status, ms } = await postForm(to, withHeaders, body, contentType);
        if (status !== 200) throw new Error(`${to} answered ${status}`);
        return ms;
      };
      for (let i = 0; i < 5; i++) await send();
      const times: number[] = [];
      const cpuBefore = cpuSeconds(pid);
      for (let i = 0; i < UPLOADS; i++) times.push(await send());
      const cpu = ((cpuSeconds(pid) - cpuBefore) * 1000) / UPLOADS;
      const rest: number[] = [];
      const work: number[] = [];
      if (floorUrl) {
        for (let i = 0; i < 5; i++) await send(floorUrl, {});
        for (let i = 0, total = await imageWorkMs(); i < UPLOADS; i++) {
          const ms = await send();
          const after = await imageWorkMs();
          const floorMs = await send(floorUrl, {});
          work.push(after - total);
          rest.push(ms - (after - total) - floorMs);
          total = after;
        }
      }
      return { ms: median(times), cpu, rest: rest.length ? median(rest) : NaN, work: work.length ? median(work) : NaN };
    };
    try {
      for (const [label, bytes] of [
        ['800 × 1000 JPEG', await photo(800, 1000, 150 * 1024)],
        ['400 × 500 JPEG', await photo(400, 500, 40 * 1024)],
      ] as const) {
        const dir = mkdtempSync(path.join(tmpdir(), 'castfolio-small-'));
        const file = path.join(dir, 'small.jpg');
        writeFileSync(file, bytes);
        // The image work alone, in a process with the server's environment (its allocator settings
        // change libvips' speed by about 5 %).
        // Run asynchronously: a blocked event loop would keep idle keep-alive sockets the server has closed.
        const { stdout } = await promisify(execFile)(
          process.execPath,
          [path.join(root, 'bench', 'image-work.mjs'), file, String(UPLOADS)],
          {
            env: { ...process.env, ...target.env },
            encoding: 'utf8',
          },
        );
        const image = JSON.parse(stdout) as { ms: number; cpu: number };
        rmSync(dir, { recursive: true, force: true });
        const upload = await timed(
          target.server.child.pid as number,
          `${target.server.baseUrl}/api/profile/background/`,
          target.headers,
          bytes,
          `${floor.baseUrl}/floor-upload`,
        );
        const bare = await timed(floor.child.pid as number, `${floor.baseUrl}/floor-upload`, {}, bytes);
        out(
          `| ${label} (${fmt(bytes.length / 1024)} KB) | ${fmt(upload.ms, 1)} | ${fmt(bare.ms, 1)} | ${fmt(image.ms, 1)} | ${fmt(upload.ms - bare.ms - image.ms, 1)} | ` +
            `${fmt(upload.work, 1)} | ${fmt(upload.rest, 1)} | ` +
            `${fmt(upload.cpu, 1)} | ${fmt(bare.cpu, 1)} | ${fmt(image.cpu, 1)} | ${fmt(upload.cpu - bare.cpu - image.cpu, 1)} | ≤ 2 ms |`,
        );
      }
    } finally {
      floor.child.kill('SIGTERM');
      await floor.exited;
    }
  } finally {
    await target.close();
    rmSync(floorDir, { recursive: true, force: true });
  }
  out();
}

/**
 * What the face check adds: a 12 MP photo of four people (@vladmandic/face-api's demo/sample6.jpg,
 * a devDependency, scaled up) uploaded one at a time to two servers, the face check on and off
 * (FACE_CHECK), alternating; then GET profile of a picture with its analysis against the same
 * picture with the analysis column emptied.
 */
async function facesBench(): Promise<void> {
  const UPLOADS = 15;
  out('## Face check');
  out();
  const source = path.join(
    path.dirname(createRequire(import.meta.url).resolve('@vladmandic/face-api/package.json')),
    'demo',
    'sample6.jpg',
  );
  const bytes = await sharp(source).resize(4000, 3200).jpeg({ quality: 90 }).toBuffer();
  const on = await startCastfolio('sqlite', 1);
  const off = await startCastfolio('sqlite', 1, { FACE_CHECK: 'false' });
  try {
    const { body, contentType } = multipartBody('profile_picture', 'group.jpg', bytes);
    const send = async (target: Target) => {
      const { status, ms } = await postForm(`${target.server.baseUrl}/api/profile/background/`, target.headers, body, contentType);
      if (status !== 200) throw new Error(`upload answered ${status}`);
      return ms;
    };
    // The first check loads the models (about a second); the first upload of each warms up.
    await send(on);
    await send(off);
    const times = { on: [] as number[], off: [] as number[] };
    for (let i = 0; i < UPLOADS; i++) {
      const [withCheck, without] = await inTurns(
        i,
        () => send(on),
        () => send(off),
      );
      times.on.push(withCheck);
      times.off.push(without);
    }
    const added = times.on.map((ms, i) => ms - times.off[i]!);
    out(
      `A ${fmt(bytes.length / 1024 / 1024, 1)} MB 12 MP JPEG (4000 × 3200, four faces) uploaded ${UPLOADS} times to each of two servers (SQLite, local storage), ` +
        'the face check on and off, alternating one at a time, every other pair the face check off first. Wall-clock milliseconds per upload; "added" is each pair\'s difference.',
    );
    out();
    out('| face check | p50 ms | p95 ms | target |');
    out('|---|---:|---:|---|');
    out(`| off | ${fmt(percentile(times.off, 0.5))} | ${fmt(percentile(times.off, 0.95))} | |`);
    out(`| on | ${fmt(percentile(times.on, 0.5))} | ${fmt(percentile(times.on, 0.95))} | |`);
    out(`| added (pairs) | ${fmt(percentile(added, 0.5))} | ${fmt(percentile(added, 0.95))} | p95 ≤ 250 ms |`);
    out();
    const info = (await on.http.get('/api/profile/background/', on.headers)).body.profile.profile_picture_info;
    out(
      `The picture's analysis: ${info.faces.length} faces, hints ${info.hints.map((h: { code: string }) => h.code).join(', ') || 'none'}.`,
    );
    out();
  } finally {
    await off.close();
  }
  try {
    // GET profile: the same picture described with and without its analysis (one more JSON column).
    const { body, contentType } = multipartBody('profile_picture', 'group.jpg', bytes);
    const bare = await backgroundUser(on.http, 'bench-bare@example.com');
    await postForm(`${on.server.baseUrl}/api/profile/background/`, bare, body, contentType);
    const picture = (await on.http.get('/api/profile/background/', bare)).body.profile.profile_picture as string;
    const db = new Database(path.join(on.dir, 'castfolio.db'));
    const emptied = db
      .prepare('update pictures set analysis = null where name = ?')
      .run(picture.slice(picture.indexOf('/media/') + 7)).changes;
    db.close();
    if (emptied !== 1) throw new Error('the bare picture had no record');
    await pairedProfileReads(
      on,
      {
        subject: { label: 'picture with its analysis (faces, focus, hints)', headers: on.headers },
        baseline: { label: 'the same picture, analysis emptied', headers: bare },
      },
      'nothing added',
    );
  } finally {
    await on.close();
  }
}

/**
 * GET /api/profile/background/ for two users of one server, alternating, READ_PAIRS pairs after a warm-up:
 * one table whose first row is `subject` against `baseline` (server CPU per request from /proc).
 */
async function pairedProfileReads(
  target: Target,
  rows: { subject: { label: string; headers: Record<string, string> }; baseline: { label: string; headers: Record<string, string> } },
  targetText: string,
): Promise<void> {
  const url = `${target.server.baseUrl}/api/profile/background/`;
  await load({ url, connections: 16, headers: rows.subject.headers, amount: 2000 });
  const pairs: { baseline: number; subject: number }[] = [];
  const run = async (headers: Record<string, string>) =>
    (await loadWithCpu(target, { url, connections: 16, headers, duration: Math.max(1, SECONDS / 8) })).cpuUs;
  for (let round = 0; round < READ_PAIRS; round++) {
    const [baseline, subject] = await inTurns(
      round,
      () => run(rows.baseline.headers),
      () => run(rows.subject.headers),
    );
    pairs.push({ baseline, subject });
  }
  const ratios = pairs.map((p) => p.subject / p.baseline);
  out(`| GET /api/profile/background/ (SQLite, 16 connections, ${READ_PAIRS} alternating pairs) | server CPU µs/req | ratio | target |`);
  out('|---|---:|---:|---|');
  out(
    `| ${rows.subject.label} | ${fmt(median(pairs.map((p) => p.subject)))} | ${fmt(median(ratios), 2)}× (${fmt(Math.min(...ratios), 2)}–${fmt(Math.max(...ratios), 2)}) | ${targetText} |`,
  );
  out(`| ${rows.baseline.label} | ${fmt(median(pairs.map((p) => p.baseline)))} | 1.00× | |`);
  out();
}
