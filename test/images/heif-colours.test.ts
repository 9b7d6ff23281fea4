// The nclx colours a HEIF or AVIF header declares for its primary image (src/images/heif-colours.ts, read by declaredHeifHeader),
// on files sharp and heif-enc write and on headers built here box by box, damaged ones included.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { declaredHeifHeader } from '../../src/images/heif.js';
import { box, uints } from '../helpers/bytes.js';
import { DISPLAY_P3_NCLX, heicFrom, heifEncAvailable, nclxBox, withNclx } from '../helpers/heif.js';
import { displayP3Patches, jpeg } from '../helpers/images.js';

const hasHeifEnc = await heifEncAvailable();

const versionAndFlags = (version: number, flags = 0) => uints(4, version * 2 ** 24 + flags);
const nclx = (primaries: number, transfer: number) => nclxBox({ primaries, transfer, matrix: 6 });
const iccProfile = box('colr', Buffer.from('prof'), Buffer.alloc(32, 7));
const ispe = box('ispe', versionAndFlags(0), uints(4, 64, 48));

/** An ipma box: each item's property indices (1-based into ipco), marked essential as phones do. */
function ipma(associations: [item: number, indices: number[]][], { version = 0, wide = false } = {}): Buffer {
  const entries = associations.map(([item, indices]) =>
    Buffer.concat([
      uints(version < 1 ? 2 : 4, item),
      uints(1, indices.length),
      ...indices.map((index) => (wide ? uints(2, 0x8000 | index) : uints(1, 0x80 | index))),
    ]),
  );
  return box('ipma', versionAndFlags(version, wide ? 1 : 0), uints(4, associations.length), Buffer.concat(entries));
}

/** A HEIF header: ftyp, then meta holding pitm, iprp (ipco + ipma) and the extra boxes given; no picture data. */
function heifHeader(primary: number, properties: Buffer[], associations: Buffer, ...extra: Buffer[]): Buffer {
  return Buffer.concat([
    box('ftyp', Buffer.from('avif'), uints(4, 0), Buffer.from('mif1avif')),
    box(
      'meta',
      versionAndFlags(0),
      box('hdlr', versionAndFlags(0), uints(4, 0), Buffer.from('pict'), Buffer.alloc(13)),
      box('pitm', versionAndFlags(0), uints(2, primary)),
      ...extra,
      box('iprp', box('ipco', ...properties), associations),
    ),
  ]);
}

const P3 = { primaries: 12, transfer: 13 };
const coloursOf = async (file: Buffer) => (await declaredHeifHeader(file)).colours;

describe('the nclx colours of a HEIF primary image, read from its header', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'castfolio-nclx-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads the Display P3 an AVIF declares, from its bytes and from its file, and null where it declares none', async () => {
    const plain = await sharp(await displayP3Patches(false))
      .avif()
      .toBuffer();
    expect(await coloursOf(plain)).toBeNull();
    const declaring = withNclx(plain, DISPLAY_P3_NCLX);
    expect(await coloursOf(declaring)).toEqual(P3);
    const file = path.join(dir, 'p3.avif');
    writeFileSync(file, declaring);
    expect(await declaredHeifHeader(file)).toEqual({
      sizes: [{ width: 600, height: 800 }],
      colours: P3,
      damaged: false,
      derivedInputPixels: 0,
      sequence: { frames: 0, samples: 0 },
    });
  });

  it.skipIf(!hasHeifEnc)('reads a grid HEIC’s colours from its first tile when the grid itself declares none', async () => {
    // An odd width: heif-enc writes a grid of one tile, cropped.
    const heic = await heicFrom(await jpeg(641, 481), 'jpg');
    expect(await coloursOf(heic)).toBeNull();
    expect(await coloursOf(withNclx(heic, DISPLAY_P3_NCLX, { onTile: true }))).toEqual(P3);
  });

  it('takes the primary item’s own box, the nclx one beside an ICC profile, through either ipma layout', async () => {
    const properties = [ispe, iccProfile, nclx(1, 13), nclx(12, 13)];
    // Item 2 is the primary; item 1 (a thumbnail, say) declares other colours.
    expect(
      await coloursOf(
        heifHeader(
          2,
          properties,
          ipma([
            [1, [1, 3]],
            [2, [1, 2, 4]],
          ]),
        ),
      ),
    ).toEqual(P3);
    expect(
      await coloursOf(
        heifHeader(
          2,
          properties,
          ipma(
            [
              [1, [3]],
              [2, [4]],
            ],
            { version: 1, wide: true },
          ),
        ),
      ),
    ).toEqual(P3);
    expect(
      await coloursOf(
        heifHeader(
          2,
          properties,
          ipma([
            [1, [3]],
            [2, [1, 2]],
          ]),
        ),
      ),
    ).toBeNull();
  });

  it('finds the primary item’s association after a great many other items’, skipping theirs unread', async () => {
    const others = Array.from({ length: 200_000 }, (_, i): [number, number[]] => [i + 10, [1, 3]]);
    const header = heifHeader(2, [ispe, iccProfile, nclx(12, 13)], ipma([...others, [2, [1, 2, 3]]], { version: 1 }));
    expect(header.length).toBeGreaterThan(1_000_000);
    expect(await coloursOf(header)).toEqual(P3);
  });

  it('follows a derived image to its first input only: a reference loop ends', async () => {
    const properties = [ispe, nclx(12, 13), nclx(1, 1)];
    const dimg = (from: number, ...to: number[]) =>
      box('iref', versionAndFlags(0), box('dimg', uints(2, from), uints(2, to.length), uints(2, ...to)));
    expect(
      await coloursOf(
        heifHeader(
          9,
          properties,
          ipma([
            [9, [1]],
            [3, [2]],
            [4, [3]],
          ]),
          dimg(9, 3, 4),
        ),
      ),
    ).toEqual(P3);
    expect(await coloursOf(heifHeader(9, properties, ipma([[9, [1]]]), dimg(9, 9)))).toBeNull();
  });

  it('returns null on a damaged or unusual header, without throwing or reading past a box', async () => {
    const properties = [ispe, nclx(12, 13)];
    const whole = heifHeader(1, properties, ipma([[1, [1, 2]]]));
    expect(await coloursOf(whole)).toEqual(P3);
    // Cut anywhere: meta is not whole.
    for (let length = 0; length < whole.length; length += 7) expect(await coloursOf(whole.subarray(0, length))).toBeNull();
    // An ipma claiming four billion entries in a few bytes.
    const greedy = ipma([[1, [2]]]);
    greedy.writeUInt32BE(0xffffffff, 12);
    expect(await coloursOf(heifHeader(1, properties, greedy))).toBeNull();
    // An index past ipco's last property, and index 0 (no property).
    expect(await coloursOf(heifHeader(1, properties, ipma([[1, [0, 9]]])))).toBeNull();
    // A box inside meta with a 64-bit size, and one claiming more than meta holds.
    const large = box('free', uints(4, 0));
    large.writeUInt32BE(1, 0);
    expect(await coloursOf(heifHeader(1, properties, ipma([[1, [2]]]), large))).toBeNull();
    const overlong = box('free', uints(4, 0));
    overlong.writeUInt32BE(4096, 0);
    expect(await coloursOf(heifHeader(1, properties, ipma([[1, [2]]]), overlong))).toBeNull();
    // A colour box too short for its numbers.
    expect(await coloursOf(heifHeader(1, [ispe, box('colr', Buffer.from('nclx'), uints(2, 12))], ipma([[1, [2]]])))).toBeNull();
    // No pitm, or no meta at all.
    expect(await coloursOf(Buffer.concat([box('ftyp', Buffer.from('avif')), box('mdat', Buffer.alloc(64))]))).toBeNull();
    expect(await coloursOf(Buffer.alloc(0))).toBeNull();
  });
});
