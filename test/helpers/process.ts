import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..', '..');
export const SERVER_JS = path.join(root, 'dist', 'server.js');

/** Compiles src/ (and the web page) if needed, as `npm start` does. */
export function buildServer(): void {
  const build = spawnSync(process.execPath, [path.join(root, 'scripts', 'build-if-stale.mjs')], { encoding: 'utf8' });
  if (build.status !== 0) throw new Error(`build failed:\n${build.stderr}`);
}

export interface ServerProcess {
  child: ChildProcess;
  baseUrl: string;
  /** Resolves with the exit code or signal. */
  exited: Promise<number | string | null>;
  output(): string;
  /** Resolves once the server's output (stdout and stderr) holds `text`; rejects if it exits first. */
  waitForOutput(text: string): Promise<void>;
}

/** A child's stdout and stderr, kept (the last 100 000 characters) and watched for lines to come. */
function watchOutput(child: ChildProcess, exited: Promise<number | string | null>) {
  let log = '';
  const waiting = new Set<{ text: string; found: () => void }>();
  const keep = (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-100_000);
    for (const waiter of waiting) if (log.includes(waiter.text)) waiter.found();
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return {
    output: () => log,
    waitForOutput: (text: string) =>
      new Promise<void>((resolve, reject) => {
        if (log.includes(text)) return resolve();
        const waiter = {
          text,
          found: () => {
            waiting.delete(waiter);
            resolve();
          },
        };
        waiting.add(waiter);
        void exited.then((code) => {
          if (!waiting.delete(waiter)) return;
          reject(new Error(`server exited (${code}) before writing ${JSON.stringify(text)}:\n${log}`));
        });
      }),
  };
}

/**
 * The compiled server as its own process, on an ephemeral port; resolves once it listens.
 * `embeddedDefaults`: nothing set but PATH, the port and `env`, as on a fresh machine's `npm start`
 * (otherwise HOST and LOG_LEVEL are set too, whatever the defaults become).
 */
export function startServerProcess(env: Record<string, string>, cwd = root, { embeddedDefaults = false } = {}): Promise<ServerProcess> {
  const settings = embeddedDefaults ? {} : { HOST: '127.0.0.1', LOG_LEVEL: 'info' };
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SERVER_JS], {
      cwd,
      env: { PATH: process.env.PATH ?? '', PORT: '0', ...settings, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | string | null>((done) => child.on('exit', (code, signal) => done(signal ?? code)));
    const watch = watchOutput(child, exited);
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${watch.output()}`)), 30_000);
    // Added after watchOutput's own listeners, so the output read here holds the chunk just received.
    const onData = () => {
      const match = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(watch.output());
      if (!match) return;
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.stderr?.off('data', onData);
      resolve({ child, baseUrl: match[1] as string, exited, ...watch });
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${code}) before listening:\n${watch.output()}`));
    });
  });
}

/** A port nothing listens on right now. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * Starts a server script on a known port and waits until /health answers, whatever the log
 * level (benchmarks run with LOG_LEVEL=warn, so there is no "listening" line to wait for).
 */
export function startOnPort(script: string, env: Record<string, string>, cwd = root, nodeArgs: string[] = []): Promise<ServerProcess> {
  return startCommandOnPort(process.execPath, [...nodeArgs, script], env, cwd);
}

/**
 * Starts any command that runs the server (a shell running `npm start`'s line, say) on a known
 * port and waits until /health answers. `detached`: the command gets its own process group, so
 * `stopGroup` ends it and whatever it started.
 */
export async function startCommandOnPort(
  command: string,
  args: string[],
  env: Record<string, string>,
  cwd = root,
  options: { detached?: boolean } = {},
): Promise<ServerProcess> {
  const port = await freePort();
  const child = spawn(command, args, {
    cwd,
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: options.detached ?? false,
  });
  const exited = new Promise<number | string | null>((done) => child.on('exit', (code, signal) => done(signal ?? code)));
  const watch = watchOutput(child, exited);
  const baseUrl = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited before answering:\n${watch.output()}`);
    try {
      if ((await fetch(`${baseUrl}/health`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      if (options.detached) stopGroup(child);
      else child.kill('SIGTERM');
      throw new Error(`server did not answer /health:\n${watch.output()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { child, baseUrl, exited, ...watch };
}

/** SIGTERM to a detached child's process group (the child and what it started), if still there. */
export function stopGroup(child: ChildProcess): void {
  try {
    process.kill(-child.pid!, 'SIGTERM');
  } catch {
    // already gone
  }
}

/**
 * The bytes V8 holds for a running server's young generation (both halves), from its metrics
 * (`token`: the server's METRICS_TOKEN).
 */
export async function youngGenerationBytes(baseUrl: string, token: string): Promise<number> {
  const metrics = await (await fetch(`${baseUrl}/metrics`, { headers: { authorization: `Bearer ${token}` } })).text();
  return Number(/^castfolio_nodejs_heap_space_size_total_bytes\{space="new"\} (\d+)$/m.exec(metrics)![1]);
}
