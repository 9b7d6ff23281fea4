// The image work of uploads alone, in a process started like the server (same environment, so
// the same allocator settings and the same FACE_CHECK): node bench/image-work.mjs <photo> <rounds>
// [concurrency] runs sanitiseImage with the server's outputs (master, variants, placeholder and,
// unless FACE_CHECK=false, the face check in its worker thread) `rounds` times, `concurrency` at a
// time (default 1), and prints the median wall-clock milliseconds of one, the mean CPU milliseconds
// of one (worker threads included), and the wall time per picture × concurrency (the bench's floor
// for uploads at that concurrency).
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { closeFacePool, expectFaceCheck } from '../dist/images/faces.js';
import { parseConfig } from '../dist/config.js';
import { tuneCollector } from '../dist/gc.js';
import { sanitiseImage } from '../dist/images/sanitise.js';
import { ImageWork } from '../dist/images/work.js';

// V8's collector tuned as the server tunes it (src/gc.ts; Node 24 and later).
tuneCollector();

const [file, rounds = '40', concurrency = '1'] = process.argv.slice(2);
const bytes = readFileSync(file);
// The server's image settings (limits, variant formats, face check), read as the server reads them.
const images = parseConfig(process.env).images;
if (images.faceCheckTimeoutMs > 0) await expectFaceCheck();
const gates = new ImageWork(images);
const work = () => sanitiseImage(bytes, bytes.length, images, gates, images);
for (let i = 0; i < 5; i++) await work();
const times = [];
const before = process.cpuUsage();
const started = performance.now();
let begun = 0;
await Promise.all(
  Array.from({ length: Number(concurrency) }, async () => {
    while (begun < Number(rounds)) {
      begun += 1;
      const start = performance.now();
      await work();
      times.push(performance.now() - start);
    }
  }),
);
const seconds = (performance.now() - started) / 1000;
const cpu = process.cpuUsage(before);
await closeFacePool();
times.sort((a, b) => a - b);
process.stdout.write(
  JSON.stringify({
    ms: times[Math.floor(times.length / 2)],
    cpu: (cpu.user + cpu.system) / 1000 / Number(rounds),
    faceCheck: images.faceCheckTimeoutMs > 0,
    perPictureMs: (seconds * 1000 * Number(concurrency)) / Number(rounds),
    picturesPerSecond: Number(rounds) / seconds,
  }),
);
