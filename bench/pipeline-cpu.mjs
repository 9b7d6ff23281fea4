// The CPU of one picture's image work, the pipeline before Pictures v2 against this version's, in a
// process started like the server (the same environment, so the same allocator settings: on some
// hosts they change libvips' CPU by tens of per cent, more for the pipeline that allocates more):
// node bench/pipeline-cpu.mjs <photo> <pairs> prints the pairs' CPU milliseconds. Every other pair
// runs this version first, so neither pipeline always runs in the other's wake.
import { statSync } from 'node:fs';
import sharp from 'sharp';
import { parseConfig } from '../dist/config.js';
import { tuneCollector } from '../dist/gc.js';
import { sanitiseImage } from '../dist/images/sanitise.js';
import { ImageWork } from '../dist/images/work.js';

// V8's collector tuned as the server tunes it (src/gc.ts; Node 24 and later).
tuneCollector();

const [file, pairs = '7'] = process.argv.slice(2);
// The server's limits, read as the server reads them (the pipeline before used the same ones).
const limits = parseConfig(process.env).images;
// The pipeline before this version: the header read for the pixel limit, then one output, straight from the file.
const before = async () => {
  await sharp(file, { failOn: 'warning', animated: false }).metadata();
  return sharp(file, { limitInputPixels: limits.maxPixels, failOn: 'warning', animated: false })
    .rotate()
    .resize({ width: limits.maxDimension, height: limits.maxDimension, fit: 'inside', withoutEnlargement: true })
    .jpeg({ quality: 85 })
    .toBuffer();
};
const gates = new ImageWork(limits);
const now = () => sanitiseImage(file, statSync(file).size, limits, gates, { variantFormats: ['webp'] });

/** The CPU time (ms) this process spends in `work`, its threads included. */
async function cpuMs(work) {
  const started = process.cpuUsage();
  await work();
  const used = process.cpuUsage(started);
  return (used.user + used.system) / 1000;
}

await before();
await now();
const runs = { before, now };
const results = [];
for (let round = 0; round < Number(pairs); round++) {
  const spent = {};
  for (const name of round % 2 === 0 ? ['before', 'now'] : ['now', 'before']) spent[name] = await cpuMs(runs[name]);
  results.push(spent);
}
process.stdout.write(JSON.stringify(results));
