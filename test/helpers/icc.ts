// ICC profiles made by the tests, and JPEGs carrying them: a v4 RGB display profile whose float
// tags (D2B0, D2B1) hold a pipeline of `stages` elements (multiProcessElementType), alternating a
// matrix and a set of curves so no two can be joined, every element of a kind sharing one block of
// data: a few bytes a stage, however many there are.
import { floats, latin1, uints } from './bytes.js';

const padded = (data: Buffer) => Buffer.concat([data, Buffer.alloc((4 - (data.length % 4)) % 4)]);
const s15 = (value: number) => Math.round(value * 65536);
const xyz = (x: number, y: number, z: number) => Buffer.concat([latin1('XYZ '), uints(4, 0), uints(4, s15(x), s15(y), s15(z))]);

/** A multiProcessElementType tag of `stages` elements, 3 channels in and out. */
function pipeline(stages: number): Buffer {
  // A matrix (3 × 3 and 3 offsets) that swaps red and blue, and three curves of one gamma segment.
  const matrix = Buffer.concat([latin1('matf'), uints(4, 0), uints(2, 3, 3), floats(0, 0, 1, 0, 1, 0, 1, 0, 0), floats(0, 0, 0)]);
  const curve = Buffer.concat([
    latin1('curf'),
    uints(4, 0),
    uints(2, 1, 0),
    latin1('parf'),
    uints(4, 0),
    uints(2, 0, 0),
    floats(1.2, 1, 0, 0),
  ]);
  const curvesHeader = 12 + 3 * 8;
  const curves = Buffer.concat([
    latin1('cvst'),
    uints(4, 0),
    uints(2, 3, 3),
    ...[0, 1, 2].map(() => uints(4, curvesHeader, curve.length)),
    curve,
  ]);
  const header = 16;
  const matrixAt = header + 8 * stages;
  const curvesAt = matrixAt + matrix.length;
  const positions = Array.from({ length: stages }, (_, i) =>
    i % 2 === 0 ? uints(4, matrixAt, matrix.length) : uints(4, curvesAt, curves.length),
  );
  return Buffer.concat([latin1('mpet'), uints(4, 0), uints(2, 3, 3), uints(4, stages), ...positions, matrix, curves]);
}

/** A v4 RGB display profile: sRGB-like colorants and linear curves, and a float pipeline of `stages` elements. */
export function iccWithPipeline(stages: number): Buffer {
  const description = Buffer.from('pipeline', 'utf16le').swap16();
  const curve = Buffer.concat([latin1('curv'), uints(4, 0, 0)]);
  const tags: [string, Buffer][] = [
    ['desc', Buffer.concat([latin1('mluc'), uints(4, 0, 1, 12), latin1('enUS'), uints(4, description.length, 28), description])],
    ['wtpt', xyz(0.9642, 1, 0.8249)],
    ['rXYZ', xyz(0.4361, 0.2225, 0.0139)],
    ['gXYZ', xyz(0.3851, 0.7169, 0.0971)],
    ['bXYZ', xyz(0.1431, 0.0606, 0.7141)],
    ['rTRC', curve],
    ['gTRC', curve],
    ['bTRC', curve],
    ['D2B0', pipeline(stages)],
    ['D2B1', pipeline(stages)],
  ];
  let at = 128 + 4 + 12 * tags.length;
  const table: Buffer[] = [uints(4, tags.length)];
  const data: Buffer[] = [];
  for (const [signature, body] of tags) {
    table.push(latin1(signature), uints(4, at, body.length));
    data.push(padded(body));
    at += padded(body).length;
  }
  const header = Buffer.concat([
    uints(4, at),
    latin1('lcms'),
    uints(4, 0x04300000),
    latin1('mntrRGB XYZ '),
    Buffer.alloc(12),
    latin1('acspAPPL'),
    Buffer.alloc(4 + 8 + 8 + 4),
    uints(4, s15(0.9642), s15(1), s15(0.8249)),
    latin1('lcms'),
    Buffer.alloc(16 + 28),
  ]);
  return Buffer.concat([header, ...table, ...data]);
}

/** The JPEG with `icc` embedded as cameras do, in APP2 segments of at most 65 519 bytes after SOI. */
export function jpegWithIcc(jpeg: Buffer, icc: Buffer): Buffer {
  const size = 65_519;
  const count = Math.ceil(icc.length / size);
  const segments = Array.from({ length: count }, (_, i) => {
    const part = icc.subarray(i * size, (i + 1) * size);
    const marker = Buffer.from([0xff, 0xe2, 0, 0]);
    marker.writeUInt16BE(2 + 12 + 2 + part.length, 2);
    return Buffer.concat([marker, latin1('ICC_PROFILE\0'), Buffer.from([i + 1, count]), part]);
  });
  return Buffer.concat([jpeg.subarray(0, 2), ...segments, jpeg.subarray(2)]);
}
