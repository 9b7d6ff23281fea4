// npm run bench:import: `cli import django` on a synthetic Django source (10 000 users with their
// profiles, 20 000 items), into PostgreSQL and into SQLite; then a re-run with 1 % of the rows
// changed; then the CPU one sign-in costs with an imported (PBKDF2, 870 000 rounds) hash and after it
// became argon2id. Prints a Markdown section for bench/results.md.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { buildApp } from '../src/app.js';
import { parseConfig, type Config } from '../src/config.js';
import { createDatabase } from '../src/db/index.js';
import { migrateToLatest } from '../src/db/migrate.js';
import { runCli } from '../src/cli.js';
import { createPostgresDatabase } from '../test/helpers/databases.js';
import { DJANGO_HASHES, DjangoFixture } from '../test/helpers/django.js';
import { median } from './lib.js';

const PG_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const USERS = Number(process.env.BENCH_USERS ?? 10_000);
const ITEMS = USERS * 2;

/** The source: every user background or talent (alternating), every background user two props. */
async function syntheticSource(): Promise<DjangoFixture> {
  const source = await DjangoFixture.create(PG_URL);
  await source.query(
    `insert into users_baseuser (id, password, last_login, is_superuser, email, first_name, last_name, is_active, is_staff, date_joined,
       email_verified, is_talent, is_background, is_dashboard, is_dashboard_admin, country, residency, city, phone, date_of_birth, gender)
     select i, $1, now() - (i || ' minutes')::interval, false, 'user' || i || '@example.com', 'First' || i, 'Last' || i, true, false, now(),
       i % 3 = 0, i % 2 = 0, i % 2 = 1, false, false, 'Jordan', '', '', '', '1990-01-01', 'Female'
     from generate_series(1, $2::int) i`,
    [DJANGO_HASHES.letmein.hash, USERS],
  );
  await source.query(
    `insert into profiles_talentuserprofile (id, is_verified, profile_complete, profile_picture, aboutyou, account_type, country, city, phone, date_of_birth, gender, user_id)
     select i, false, false, 'profile_pictures/u' || i || '.jpg', 'About ' || i, 'free', 'country', 'city', '', '1990-01-01', 'Male', i
     from generate_series(2, $1::int, 2) i`,
    [USERS],
  );
  await source.query(
    `insert into profiles_backgroundjobsprofile (id, profile_picture, country, date_of_birth, gender, account_type, user_id)
     select i, null, 'Egypt', '1988-08-08', 'Male', 'free', i from generate_series(1, $1::int, 2) i`,
    [USERS],
  );
  await source.query(
    `insert into profiles_prop (id, name, description, price, is_for_rent, is_for_sale, created_at, updated_at, image, material, used_in_movie, condition, "BackGroundJobsProfile_id", genre_id)
     select i, 'Prop ' || i, 'A prop', 10 + i % 90, true, false, now(), now(), 'item_images/p' || i || '.jpg', 'brass', null, 'good', 1 + 2 * ((i - 1) % ($1::int / 2)), null
     from generate_series(1, $2::int) i`,
    [USERS, ITEMS],
  );
  return source;
}

function targetConfig(dataDir: string, database: Record<string, string>): Config {
  return parseConfig({
    DATA_DIR: dataDir,
    JWT_SECRET: 'bench-import-secret-0a1b2c3d4e5f60718293a4b5c6d7e8f9',
    LOG_LEVEL: 'silent',
    ...database,
  });
}

async function timed(run: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await run();
  return (performance.now() - started) / 1000;
}

async function importInto(label: string, config: Config, sourceUrl: string, source: DjangoFixture) {
  const handle = createDatabase(config.database);
  await migrateToLatest(handle.db);
  const lines: string[] = [];
  const io = { out: (line: string) => lines.push(line), err: () => undefined };
  const full = await timed(async () => {
    if ((await runCli(['import', 'django', '--from', sourceUrl], config, io, handle)) !== 0) throw new Error('import failed');
  });
  // 1 % of the rows change in the source between the passes.
  const changedUsers = Math.round(USERS / 100);
  await source.query(`update users_baseuser set first_name = 'Changed' where id % 100 = 0`);
  await source.query(`update profiles_prop set price = price + 1 where id % 100 = 0`);
  const fullSummary = lines.filter((line) => /^(users|items):/.test(line));
  lines.length = 0;
  const rerun = await timed(async () => {
    if ((await runCli(['import', 'django', '--from', sourceUrl], config, io, handle)) !== 0) throw new Error('re-run failed');
  });
  const rerunSummary = lines.filter((line) => /^(users|items):/.test(line));
  await source.query(`update users_baseuser set first_name = 'First' || id where id % 100 = 0`);
  await source.query(`update profiles_prop set price = price - 1 where id % 100 = 0`);
  await handle.destroy();
  const rows = USERS + USERS + ITEMS; // users, their profiles, items
  return { label, full, rerun, rows, changedUsers, fullSummary, rerunSummary };
}

/** CPU of the whole process (every thread) for one sign-in: imported hash, then argon2id. */
async function signInCpu(config: Config, sourceUrl: string) {
  const handle = createDatabase(config.database);
  await migrateToLatest(handle.db);
  await runCli(['import', 'django', '--from', sourceUrl], config, { out: () => undefined, err: () => undefined }, handle);
  const app = await buildApp({ ...config, rateLimit: { ...config.rateLimit, enabled: false } }, { database: handle });
  const cpu = async (email: string) => {
    const before = process.cpuUsage();
    const response = await app.inject({
      method: 'POST',
      url: '/api/login/background/',
      payload: { email, password: DJANGO_HASHES.letmein.password },
    });
    if (response.statusCode !== 200) throw new Error(`sign-in failed: ${response.body}`);
    const used = process.cpuUsage(before);
    return (used.user + used.system) / 1000;
  };
  const legacy: number[] = [];
  const argon: number[] = [];
  for (let id = 1; id <= 41; id += 2) {
    legacy.push(await cpu(`user${id}@example.com`));
    argon.push(await cpu(`user${id}@example.com`));
  }
  await app.close();
  await handle.destroy();
  return { legacy: median(legacy), argon: median(argon) };
}

const source = await syntheticSource();
const dataDir = mkdtempSync(path.join(tmpdir(), 'castfolio-bench-import-'));
mkdirSync(path.join(dataDir, 'media'), { recursive: true });
// Every picture the source names exists in the (local) bucket, as after Django's uploads.
for (const folder of ['profile_pictures', 'item_images']) mkdirSync(path.join(dataDir, 'media', folder), { recursive: true });
for (let i = 2; i <= USERS; i += 2) writeFileSync(path.join(dataDir, 'media', 'profile_pictures', `u${i}.jpg`), 'x');
for (let i = 1; i <= ITEMS; i++) writeFileSync(path.join(dataDir, 'media', 'item_images', `p${i}.jpg`), 'x');
const pgTarget = await createPostgresDatabase(PG_URL, 'bench_import');
try {
  const results = [
    await importInto('PostgreSQL', targetConfig(dataDir, { DATABASE_URL: pgTarget.url }), source.url, source),
    await importInto('SQLite', targetConfig(dataDir, { DATABASE_URL: `sqlite:${path.join(dataDir, 'import.db')}` }), source.url, source),
  ];
  const login = await signInCpu(targetConfig(dataDir, { DATABASE_URL: `sqlite:${path.join(dataDir, 'login.db')}` }), source.url);
  const lines = [
    '## Import from a Django database',
    '',
    `Measured ${new Date().toISOString()} on ${cpus()[0]?.model.trim() ?? 'unknown CPU'}, ${cpus().length} cores, Node.js ${process.version}.`,
    `Synthetic source (bench/import.ts): ${USERS} users, as many profiles, ${ITEMS} items, every picture present in local storage; source and PostgreSQL target on the same machine.`,
    '',
    '| target | full import s | rows/s | re-run with 1 % changed s | target |',
    '|---|---:|---:|---:|---|',
    ...results.map(
      (r) => `| ${r.label} | ${r.full.toFixed(1)} | ${Math.round(r.rows / r.full)} | ${r.rerun.toFixed(1)} | < 60 s full, < 5 s re-run |`,
    ),
    '',
    '',
    ...results.flatMap((r) =>
      [`${r.label}, first run: ${r.fullSummary.join('; ')}`, `${r.label}, re-run: ${r.rerunSummary.join('; ')}`].map((l) => `- ${l}`),
    ),
    '',
    `Sign-in CPU (whole process, median of 21): imported PBKDF2-SHA256 hash (870 000 rounds) ${login.legacy.toFixed(0)} ms, after the rehash to argon2id ${login.argon.toFixed(0)} ms (${(login.legacy / login.argon).toFixed(1)}×).`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
} finally {
  await pgTarget.drop();
  await source.close();
  rmSync(dataDir, { recursive: true, force: true });
}
