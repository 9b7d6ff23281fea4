import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { buildServer, freePort } from './helpers/process.js';

const root = path.resolve(import.meta.dirname, '..');
const read = (file: string) => readFileSync(path.join(root, file), 'utf8');

/** Every environment variable src/config.ts reads. */
function configVariables(): string[] {
  const source = read('src/config.ts');
  return [...new Set([...source.matchAll(/reader\.\w+\(\s*'([A-Z][A-Z0-9_]+)'/g)].map((m) => m[1] as string))].sort();
}

/** Runs a start command like the image or the Procfile does and waits for /ready. */
async function runsAndAnswers(command: string[], env: Record<string, string>): Promise<void> {
  const port = await freePort();
  const child = spawn(command[0] === 'node' ? process.execPath : (command[0] as string), command.slice(1), {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', ...env, HOST: '127.0.0.1', PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c));
  child.stderr.on('data', (c: Buffer) => (output += c));
  try {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const res = await fetch(`http://127.0.0.1:${port}/ready`).catch(() => undefined);
      if (res?.status === 200) return;
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`did not become ready:\n${output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
}

describe('deployment recipes', () => {
  let dataDir: string;
  const production = () => ({
    NODE_ENV: 'production',
    JWT_SECRET: 'deploy-test-secret-that-is-long-enough-000',
    DATA_DIR: dataDir,
    MIGRATE_ON_START: 'true',
    LOG_LEVEL: 'warn',
  });
  beforeAll(() => {
    buildServer();
    dataDir = mkdtempSync(path.join(tmpdir(), 'castfolio-deploy-'));
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('the Dockerfile is multi-stage, runs as a non-root user with production dependencies and a health check', () => {
    const dockerfile = read('deploy/Dockerfile');
    expect(dockerfile.match(/^FROM /gm)?.length).toBeGreaterThanOrEqual(2);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/npm prune --omit=dev|npm ci --omit=dev/);
    expect(dockerfile).toMatch(/^HEALTHCHECK /m);
    expect(dockerfile).toMatch(/MALLOC_ARENA_MAX=1/);
  });

  it('the image’s start command and health check work as written', async () => {
    const dockerfile = read('deploy/Dockerfile');
    const cmd = JSON.parse(/^CMD (\[.*\])$/m.exec(dockerfile)![1]!) as string[];
    const env = { ...production(), MALLOC_ARENA_MAX: '1', WEB_CONCURRENCY: '2' };
    await runsAndAnswers(cmd, env);

    const port = await freePort();
    const server = spawn(process.execPath, cmd.slice(1), { cwd: root, env: { PATH: process.env.PATH ?? '', ...env, HOST: '127.0.0.1', PORT: String(port) } });
    try {
      const check = JSON.parse(/CMD (\["node", "-e", .*\])$/m.exec(dockerfile)![1]!) as string[];
      let status: number | null = 1;
      for (let i = 0; i < 100 && status !== 0; i++) {
        status = spawnSync(process.execPath, check.slice(1), { env: { PATH: process.env.PATH ?? '', PORT: String(port) } }).status;
        if (status !== 0) await new Promise((r) => setTimeout(r, 100));
      }
      expect(status).toBe(0);
    } finally {
      server.kill('SIGTERM');
      await new Promise((r) => server.once('exit', r));
    }
  });

  it('the Procfile’s release and web commands work', async () => {
    const procfile = Object.fromEntries(
      read('Procfile')
        .trim()
        .split('\n')
        .map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1).trim().split(/\s+/)]),
    ) as Record<string, string[]>;
    const release = spawnSync(process.execPath, procfile.release!.slice(1), { cwd: root, env: { PATH: process.env.PATH ?? '', ...production() }, encoding: 'utf8' });
    expect(release.status, release.stderr).toBe(0);
    await runsAndAnswers(procfile.web!, production());
  });

  it('the App Platform spec sets only real variables, checks /ready and migrates before deploying', () => {
    const spec = parse(read('deploy/app.yaml')) as {
      services: { envs: { key: string }[]; health_check: { http_path: string }; dockerfile_path: string }[];
      jobs: { kind: string; run_command: string; envs: { key: string }[] }[];
      databases: { engine: string }[];
    };
    const known = new Set([...configVariables(), 'NODE_ENV']);
    for (const env of [...spec.services.flatMap((s) => s.envs), ...spec.jobs.flatMap((j) => j.envs)]) expect(known, env.key).toContain(env.key);
    expect(spec.services[0]!.health_check.http_path).toBe('/ready');
    expect(spec.services[0]!.dockerfile_path).toBe('deploy/Dockerfile');
    expect(spec.jobs).toContainEqual(expect.objectContaining({ kind: 'PRE_DEPLOY', run_command: 'node dist/cli.js migrate' }));
    expect(spec.databases.map((d) => d.engine)).toContain('PG');
  });

  it('the README documents every configuration variable', () => {
    const readme = read('README.md');
    const undocumented = configVariables().filter((name) => !readme.includes(`\`${name}\``));
    expect(undocumented).toEqual([]);
  });
});
