// Developer aid: the server's own CPU time per request (user + system, read from /proc), a figure
// far steadier than req/s on a shared machine. Compares the API's GET profile with the floor
// server. npx tsx bench/cpu-per-request.ts [requests]
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { Http } from '../test/helpers/http.js';
import { buildServer, freePort, startOnPort, type ServerProcess } from '../test/helpers/process.js';
import { startProfiledServer } from './lib.js';

const requests = Number(process.argv[2] ?? 40_000);
const TICKS_PER_SECOND = 100;

function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

async function measure(server: ServerProcess, url: string, headers: Record<string, string>): Promise<number> {
  await autocannon({ url, connections: 16, amount: 2000, headers }); // warm-up
  const before = cpuSeconds(server.child.pid!);
  const result = await autocannon({ url, connections: 16, amount: requests, headers });
  const used = cpuSeconds(server.child.pid!) - before;
  if (result.non2xx || result.errors) throw new Error(`${url}: ${result.non2xx} non-2xx, ${result.errors} errors`);
  return (used * 1e6) / requests;
}

buildServer();
const dir = mkdtempSync(path.join(tmpdir(), 'castfolio-cpu-'));
const api = await startProfiledServer(dir);
const http = new Http(api.baseUrl);
await http.post('/api/register/', {
  email: 'p@example.com',
  password: 'Profile-2026!',
  first_name: 'P',
  last_name: 'F',
  role: 'background',
  date_of_birth: '1985-05-15',
});
const token = await http.post('/api/token/', { email: 'p@example.com', password: 'Profile-2026!' });
const headers = { authorization: `Bearer ${token.body.access}`, 'is-background': 'true' };
const sample = await http.get('/api/profile/background/', headers);
const bodyFile = path.join(dir, 'floor-get.json');
writeFileSync(bodyFile, JSON.stringify(sample.body));
const floor = await startOnPort(
  path.join(import.meta.dirname, 'floor-server.mjs'),
  { PORT: String(await freePort()), FLOOR_GET_BODY: bodyFile, FLOOR_POST_BODY: bodyFile },
  dir,
);

const apiUs = await measure(api, `${api.baseUrl}/api/profile/background/`, headers);
const floorUs = await measure(floor, `${floor.baseUrl}/floor`, {});
process.stdout.write(
  `server CPU per request: GET profile ${apiUs.toFixed(0)} µs, floor ${floorUs.toFixed(0)} µs, floor/API ${((100 * floorUs) / apiUs).toFixed(0)} %\n`,
);
api.child.kill('SIGTERM');
floor.child.kill('SIGTERM');
await Promise.all([api.exited, floor.exited]);
