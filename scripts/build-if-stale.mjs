// Runs before `npm start` and `npm run cli`: compiles src/ to dist/ when dist/ is missing or older
// than any source file, so the quick start stays two commands and never runs stale code.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');

function newest(dir) {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(full) : statSync(full).mtimeMs);
  }
  return latest;
}

const marker = path.join(root, 'dist', 'server.js');
const stale = !existsSync(marker) || newest(path.join(root, 'src')) > statSync(marker).mtimeMs;
if (!stale) process.exit(0);

let tsc;
try {
  tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
} catch {
  if (existsSync(marker)) process.exit(0); // production install without dev dependencies: use dist/ as shipped
  console.error('dist/ is missing and TypeScript is not installed: run `npm install` first.');
  process.exit(1);
}
const result = spawnSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
process.exit(result.status ?? 1);
