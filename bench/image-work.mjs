// The image work of one upload alone, in a process started like the server (same environment, so
// the same allocator settings): node bench/image-work.mjs <photo> <rounds> prints the median
// wall-clock milliseconds and the mean CPU milliseconds of sanitiseImage with the server's outputs.
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { sanitiseImage } from '../dist/images/sanitise.js';

const [file, rounds = '40'] = process.argv.slice(2);
const bytes = readFileSync(file);
const limits = { maxPixels: 40_000_000, maxDimension: 2048, maxFrames: 1000, heifTimeoutMs: 30_000 };
const work = () => sanitiseImage(bytes, bytes.length, limits, { variantFormats: ['webp'] });
for (let i = 0; i < 5; i++) await work();
const times = [];
const before = process.cpuUsage();
for (let i = 0; i < Number(rounds); i++) {
  const started = performance.now();
  await work();
  times.push(performance.now() - started);
}
const cpu = process.cpuUsage(before);
times.sort((a, b) => a - b);
process.stdout.write(JSON.stringify({ ms: times[Math.floor(times.length / 2)], cpu: (cpu.user + cpu.system) / 1000 / Number(rounds) }));
