// JPEGs of many scans or marker segments, made by the tests. Debian's jpegtran (libjpeg-turbo-progs)
// rewrites a JPEG's coefficients in the scans a script lists, each a valid refinement of the ones
// before (no decoder warning), but takes at most 100 scans a script; longer files are spliced from
// several of its outputs that share their first scans. Segments are spliced in between markers.
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { inTempDir } from './tempdir.js';

const run = promisify(execFile);

/** Whether jpegtran is installed (.ci/run installs libjpeg-turbo-progs). */
export async function jpegtranAvailable(): Promise<boolean> {
  return run('jpegtran', ['-version']).then(
    () => true,
    (error: { code?: unknown }) => error.code !== 'ENOENT',
  );
}

// Every scan a three-component JPEG can take: each component's DC, sent at 1/1024 precision and
// refined bit by bit (11 scans), then each AC coefficient alone, the same way (10 scans each).
const DC = [0, 1, 2].flatMap((c) => [`${c}: 0 0 0 10;`, ...Array.from({ length: 10 }, (_, i) => `${c}: 0 0 ${10 - i} ${9 - i};`)]);
const AC = [0, 1, 2].flatMap((c) =>
  Array.from({ length: 63 }, (_, k) => [
    `${c}: ${k + 1} ${k + 1} 0 9;`,
    ...Array.from({ length: 9 }, (_, i) => `${c}: ${k + 1} ${k + 1} ${9 - i} ${8 - i};`),
  ]).flat(),
);
/** The most scans this makes (33 DC, 1890 AC). */
export const MOST_SCANS = DC.length + AC.length;
/** jpegtran's limit on a script, and a whole number of coefficients (10 scans each) below it. */
const SCRIPT_SCANS = 60;

/**
 * `source` (a baseline JPEG with three components, 4:4:4) rewritten as a sequential JPEG of one
 * scan per component (non-interleaved, as libjpeg allows): the decoder reads markers between them.
 */
export function sequentialScansJpeg(source: Buffer): Promise<Buffer> {
  return inTempDir('jpeg-scans-', async (dir) => {
    await writeFile(path.join(dir, 'in.jpg'), source);
    await writeFile(path.join(dir, 'scans.txt'), '0: 0 63 0 0;\n1: 0 63 0 0;\n2: 0 63 0 0;\n');
    await run('jpegtran', ['-scans', path.join(dir, 'scans.txt'), '-outfile', path.join(dir, 'out.jpg'), path.join(dir, 'in.jpg')]);
    return readFile(path.join(dir, 'out.jpg'));
  });
}

/** An empty APP1 segment (no EXIF, no XMP): the smallest a decoder keeps. */
export const EMPTY_APP1 = Buffer.from([0xff, 0xe1, 0x00, 0x02]);

/**
 * `jpeg` with `count` empty APP1 segments spliced in: after its start (before its tables and
 * first scan), before its last scan (between two scans), or after its last scan's coded data.
 */
export function withSegments(jpeg: Buffer, count: number, where: 'header' | 'between-scans' | 'after-scans'): Buffer {
  const segments = Buffer.concat(Array.from({ length: count }, () => EMPTY_APP1));
  const { header, scans } = splitScans(jpeg);
  const last = scans.length - 1;
  if (where === 'header') return Buffer.concat([jpeg.subarray(0, 2), segments, jpeg.subarray(2)]);
  if (where === 'between-scans') {
    if (last < 1) throw new Error('one scan only');
    return Buffer.concat([header, ...scans.slice(0, last), segments, scans[last]!, Buffer.from([0xff, 0xd9])]);
  }
  return Buffer.concat([header, ...scans, segments, Buffer.from([0xff, 0xd9])]);
}

/**
 * `source` (a baseline JPEG with three components, 4:4:4) rewritten as a progressive JPEG of
 * `scans` scans (33 to MOST_SCANS), the same picture.
 */
export function progressiveJpeg(source: Buffer, scans: number): Promise<Buffer> {
  if (scans < DC.length || scans > MOST_SCANS) throw new Error(`between ${DC.length} and ${MOST_SCANS} scans`);
  const ac = AC.slice(0, scans - DC.length);
  return inTempDir('jpeg-scans-', async (dir) => {
    await writeFile(path.join(dir, 'in.jpg'), source);
    const rewritten = async (lines: string[]) => {
      await writeFile(path.join(dir, 'scans.txt'), `${lines.join('\n')}\n`);
      await run('jpegtran', ['-scans', path.join(dir, 'scans.txt'), '-outfile', path.join(dir, 'out.jpg'), path.join(dir, 'in.jpg')]);
      return splitScans(await readFile(path.join(dir, 'out.jpg')));
    };
    // Each output repeats the DC scans, then carries its share of AC scans: the DC scans once, then every share.
    const first = await rewritten([...DC, ...ac.slice(0, SCRIPT_SCANS)]);
    const units = [...first.scans];
    for (let at = SCRIPT_SCANS; at < ac.length; at += SCRIPT_SCANS)
      units.push(...(await rewritten([...DC, ...ac.slice(at, at + SCRIPT_SCANS)])).scans.slice(DC.length));
    return Buffer.concat([first.header, ...units, Buffer.from([0xff, 0xd9])]);
  });
}

/** A JPEG's headers, and each scan with the Huffman tables before it (up to the next table or scan). */
function splitScans(jpeg: Buffer): { header: Buffer; scans: Buffer[] } {
  const scans: Buffer[] = [];
  let headerEnd: number | undefined;
  let unitStart: number | undefined;
  for (let at = 2; at < jpeg.length;) {
    const code = jpeg[at + 1]!;
    if (code === 0xd9) break;
    if (code === 0xc4 || code === 0xda) {
      headerEnd ??= at;
      unitStart ??= at;
    }
    let next = at + 2 + jpeg.readUInt16BE(at + 2);
    if (code === 0xda) {
      // Coded data runs to the next marker (0xff not followed by a stuffed 0x00 or a restart marker).
      for (;;) {
        next = jpeg.indexOf(0xff, next);
        const after = jpeg[next + 1]!;
        if (after === 0x00 || (after >= 0xd0 && after <= 0xd7)) next += 2;
        else break;
      }
      scans.push(jpeg.subarray(unitStart, next));
      unitStart = undefined;
    }
    at = next;
  }
  return { header: jpeg.subarray(0, headerEnd), scans };
}
