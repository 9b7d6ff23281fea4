// Developer aid: CPU-profiles the server under the GET profile load; writes a .cpuprofile and
// prints the functions with the most self time. npm run bench:profile [-- path]
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { Http } from '../test/helpers/http.js';
import { buildServer } from '../test/helpers/process.js';
import { startProfiledServer } from './lib.js';

const route = process.argv[2] ?? '/api/profile/background/';
buildServer();
const dir = mkdtempSync(path.join(tmpdir(), 'castfolio-prof-'));
const server = await startProfiledServer(dir, ['--cpu-prof', `--cpu-prof-dir=${dir}`]);
const http = new Http(server.baseUrl);
await http.post('/api/register/', {
  email: 'p@example.com',
  password: 'Profile-2026!',
  first_name: 'P',
  last_name: 'F',
  role: 'background',
  date_of_birth: '1985-05-15',
});
const token = await http.post('/api/token/', { email: 'p@example.com', password: 'Profile-2026!' });
await autocannon({
  url: `${server.baseUrl}${route}`,
  connections: 16,
  duration: 8,
  headers: { authorization: `Bearer ${token.body.access}`, 'is-background': 'true' },
});
server.child.kill('SIGINT');
await server.exited;
const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
if (!file) throw new Error('no profile written');
const profile = JSON.parse(readFileSync(path.join(dir, file), 'utf8'));
const self = new Map<string, number>();
const dt = profile.timeDeltas as number[];
const byId = new Map<number, { callFrame: { functionName: string; url: string; lineNumber: number } }>();
for (const node of profile.nodes) byId.set(node.id, node);
(profile.samples as number[]).forEach((id, i) => {
  const node = byId.get(id)!;
  const frame = node.callFrame;
  const key = `${frame.functionName || '(anonymous)'} ${frame.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/castfolio[^/]*\//, '')}:${frame.lineNumber}`;
  self.set(key, (self.get(key) ?? 0) + (dt[i] ?? 0));
});
const total = [...self.values()].reduce((a, b) => a + b, 0);
for (const [key, us] of [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, 30)) {
  process.stdout.write(`${((100 * us) / total).toFixed(1).padStart(5)} %  ${key}\n`);
}
process.stdout.write(`profile: ${path.join(dir, file)}\n`);
