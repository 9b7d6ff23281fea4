// Developer aid: CPU-profiles the server while 4 clients upload a 1 MP photo; prints the functions
// with the most self time (the same report as profile-get.ts).
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { Http } from '../test/helpers/http.js';
import { buildServer } from '../test/helpers/process.js';
import { multipartBody, startProfiledServer } from './lib.js';

buildServer();
const dir = mkdtempSync(path.join(tmpdir(), 'castfolio-prof-'));
const server = await startProfiledServer(dir, ['--cpu-prof', `--cpu-prof-dir=${dir}`], { MALLOC_ARENA_MAX: '1' });
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
const noise = Buffer.alloc(1200 * 900 * 3);
for (let i = 0; i < noise.length; i++) noise[i] = 128 + (((Math.random() - 0.5) * 40) | 0);
const photo = await sharp(noise, { raw: { width: 1200, height: 900, channels: 3 } })
  .jpeg({ quality: 90 })
  .toBuffer();
const { body, contentType } = multipartBody('profile_picture', 'p.jpg', photo);
let sent = 0;
await Promise.all(
  Array.from({ length: 4 }, async () => {
    while (sent++ < 300) {
      const res = await fetch(`${server.baseUrl}/api/profile/background/`, {
        method: 'POST',
        body,
        headers: { authorization: `Bearer ${token.body.access}`, 'is-background': 'true', 'content-type': contentType },
      });
      await res.arrayBuffer();
    }
  }),
);
server.child.kill('SIGINT');
await server.exited;
const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'))!;
const profile = JSON.parse(readFileSync(path.join(dir, file), 'utf8'));
const byId = new Map<number, { callFrame: { functionName: string; url: string; lineNumber: number } }>();
for (const node of profile.nodes) byId.set(node.id, node);
const self = new Map<string, number>();
(profile.samples as number[]).forEach((id, i) => {
  const frame = byId.get(id)!.callFrame;
  const key = `${frame.functionName || '(anonymous)'} ${frame.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/castfolio[^/]*\//, '')}:${frame.lineNumber}`;
  self.set(key, (self.get(key) ?? 0) + (profile.timeDeltas[i] ?? 0));
});
const total = [...self.values()].reduce((a, b) => a + b, 0);
for (const [key, us] of [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, 25))
  process.stdout.write(`${((100 * us) / total).toFixed(1).padStart(5)} %  ${key}\n`);
