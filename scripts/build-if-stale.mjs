// Runs before `npm start` and `npm run cli`: compiles src/ to dist/ and builds the web front end
// into web/dist/ when either is missing or older than its sources, so the quick start stays two
// commands and never runs stale code.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const require = createRequire(import.meta.url);

function newest(...entries) {
  let latest = 0;
  for (const entry of entries) {
    if (!existsSync(entry)) continue;
    const info = statSync(entry);
    if (!info.isDirectory()) {
      latest = Math.max(latest, info.mtimeMs);
      continue;
    }
    for (const child of readdirSync(entry)) latest = Math.max(latest, newest(path.join(entry, child)));
  }
  return latest;
}

function stale(output, ...sources) {
  return !existsSync(output) || newest(...sources) > statSync(output).mtimeMs;
}

/** A package's bin script, or undefined when the package is not installed (production installs). */
function tool(pkg, bin) {
  try {
    return path.join(path.dirname(require.resolve(`${pkg}/package.json`)), bin);
  } catch {
    return undefined;
  }
}

function run(script, args) {
  const result = spawnSync(process.execPath, [script, ...args], { stdio: 'inherit', cwd: root });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

const server = path.join(root, 'dist', 'server.js');
if (stale(server, path.join(root, 'src'))) {
  const tsc = tool('typescript', 'bin/tsc');
  if (tsc) run(tsc, ['-p', path.join(root, 'tsconfig.build.json')]);
  else if (!existsSync(server)) {
    console.error('dist/ is missing and TypeScript is not installed: run `npm install` first.');
    process.exit(1);
  }
  // else: a production install without dev dependencies runs dist/ as shipped.
}

const web = path.join(root, 'web');
const page = path.join(web, 'dist', 'index.html');
if (stale(page, path.join(web, 'src'), path.join(web, 'public'), path.join(web, 'index.html'), path.join(web, 'vite.config.ts'))) {
  const vite = tool('vite', 'bin/vite.js');
  if (vite) run(vite, ['build', '--config', path.join(web, 'vite.config.ts'), '--logLevel', 'warn']);
  else if (!existsSync(page)) console.warn('web/dist/ is missing and Vite is not installed: the API runs without the web page.');
}
