import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { frameAround, type HintCode } from '../../src/images/analysis.js';
import {
  checkFaceModels,
  closeFacePool,
  DETECTOR_EDGE,
  detectFaces,
  expectFaceCheck,
  FACE_INPUT_EDGE,
  faceCheckState,
} from '../../src/images/faces.js';
import { type SanitisedImage } from '../../src/images/sanitise.js';
import { VARIANT_SPECS, variantSpecsFor } from '../../src/images/variants.js';
import { ASTRONAUT, portraitOnCanvas, processed } from '../helpers/images.js';
import { timed } from '../helpers/timing.js';

// The labelled set (sources and licences: test/fixtures/faces/SOURCES.md).
const FIXTURES = path.join(import.meta.dirname, '..', 'fixtures', 'faces');
const require = createRequire(import.meta.url);
const DEMO = path.join(path.dirname(require.resolve('@vladmandic/face-api/package.json')), 'demo');
const sample = (n: number) => path.join(DEMO, `sample${n}.jpg`);
/** One person each, cut from the group photos (left, top, width, height in the sample's pixels). */
const ONE_FACE_CUTS: [number, [number, number, number, number]][] = [
  [1, [290, 247, 425, 531]],
  [1, [708, 318, 446, 558]],
  [1, [1334, 91, 487, 609]],
  [2, [254, 9, 367, 459]],
  [2, [796, 115, 362, 453]],
  [2, [1311, 44, 466, 582]],
  [3, [446, 207, 478, 597]],
  [3, [921, 80, 528, 660]],
  [3, [1395, 166, 408, 510]],
  [4, [144, 75, 389, 486]],
  [4, [533, 0, 449, 561]],
  [4, [871, 78, 406, 507]],
  [4, [1176, 34, 348, 435]],
  [5, [257, 724, 413, 516]],
  [5, [579, 303, 205, 256]],
  [5, [704, 14, 321, 401]],
  [5, [1002, 92, 379, 474]],
  [5, [1291, 268, 396, 495]],
  [6, [103, 337, 504, 630]],
  [6, [569, 183, 384, 480]],
  [6, [1070, 179, 407, 509]],
  [6, [1375, 130, 436, 545]],
];

interface Labelled {
  label: string;
  faces: 'none' | 'one' | 'several';
  bytes: () => Promise<Buffer>;
}

function labelledSet(): Labelled[] {
  const set: Labelled[] = [];
  for (const [n, [left, top, width, height]] of ONE_FACE_CUTS) {
    set.push({
      label: `sample${n} cut at ${left},${top}`,
      faces: 'one',
      bytes: () => sharp(sample(n)).extract({ left, top, width, height }).jpeg().toBuffer(),
    });
  }
  for (let n = 1; n <= 6; n++) set.push({ label: `sample${n}`, faces: 'several', bytes: async () => readFileSync(sample(n)) });
  for (const [folder, faces] of [
    ['one-face', 'one'],
    ['no-face', 'none'],
  ] as const) {
    for (const file of readdirSync(path.join(FIXTURES, folder))) {
      set.push({ label: `${folder}/${file}`, faces, bytes: async () => readFileSync(path.join(FIXTURES, folder, file)) });
    }
  }
  return set;
}

/** The upload pipeline with variants and the face check (the first check loads the models). */
function analyse(bytes: Buffer, faceCheckTimeoutMs = 30_000): Promise<SanitisedImage> {
  return processed(bytes, { faceCheckTimeoutMs });
}

const hintsOf = async (bytes: Buffer) => (await analyse(bytes)).analysis!.hints;

afterAll(async () => closeFacePool());

describe('face check on a labelled set', () => {
  it('decides face or no face right for at least 95 % of the 76 pictures, and every face-centred frame holds the whole face', async () => {
    const set = labelledSet();
    expect(set.length).toBeGreaterThanOrEqual(40);
    const wrong: string[] = [];
    let oneFace = 0;
    for (const item of set) {
      const image = await analyse(await item.bytes());
      const { faces, focus } = image.analysis!;
      expect(faces, item.label).not.toBeNull();
      if (faces!.length > 0 !== (item.faces !== 'none')) wrong.push(`${item.label}: ${faces!.length} faces`);
      if (item.faces !== 'one' || faces!.length !== 1) continue;
      oneFace += 1;
      const face = faces![0]!;
      expect(focus).toMatchObject({ x: face.x, y: face.y, width: face.width, height: face.height, source: 'face' });
      for (const spec of variantSpecsFor(image.width, image.height)) {
        const frame = frameAround(face, spec, image);
        expect(frame.left, item.label).toBeLessThanOrEqual(face.x);
        expect(frame.top, item.label).toBeLessThanOrEqual(face.y);
        expect(frame.left + frame.width, item.label).toBeGreaterThanOrEqual(face.x + face.width);
        expect(frame.top + frame.height, item.label).toBeGreaterThanOrEqual(face.y + face.height);
        expect(frame.left + frame.width).toBeLessThanOrEqual(image.width);
        expect(frame.top + frame.height).toBeLessThanOrEqual(image.height);
        expect(frame.width / frame.height).toBeCloseTo(spec.width / spec.height, 1);
      }
    }
    const right = set.length - wrong.length;
    expect(right / set.length, wrong.join('\n')).toBeGreaterThanOrEqual(0.95);
    expect(oneFace).toBeGreaterThanOrEqual(20);
  }, 240_000);

  it('frames the avatar around the face, not the centre: the face of a person at the side of a wide photo is in the avatar', async () => {
    // A portrait placed at the right edge of a wide grey canvas: a centre crop would show only grey.
    const wide = await portraitOnCanvas({ width: 1500, height: 600, size: 600, left: 900, top: 0, background: '#808080' });
    const image = await analyse(wide);
    const face = image.analysis!.faces![0]!;
    expect(face.x).toBeGreaterThan(900);
    const avatar = image.variants.find((variant) => variant.shape === 'avatar' && variant.width === 384)!;
    // The avatar's pixels are the portrait's (varied), not the canvas's flat grey.
    const { channels } = await sharp(avatar.buffer).stats();
    expect(channels[0]!.stdev).toBeGreaterThan(20);
  }, 60_000);
});

describe('the detector and the analysis copy', () => {
  it('checks running at once each see their own picture (their pixels reach the thread through memory it keeps between checks)', async () => {
    const copyOf = async (picture: Buffer) => {
      const { data, info } = await sharp(picture)
        .resize(FACE_INPUT_EDGE, FACE_INPUT_EDGE, { fit: 'inside' })
        .removeAlpha()
        .raw()
        .toBuffer({ resolveWithObject: true });
      return { data, width: info.width, height: info.height };
    };
    // A face at the right of a wide picture, one at the left of a narrower one, and a picture without a face.
    const right = await copyOf(await portraitOnCanvas({ width: 1500, height: 600, size: 600, left: 900, top: 0, background: '#808080' }));
    const left = await copyOf(await portraitOnCanvas({ width: 1200, height: 600, size: 600, left: 0, top: 0, background: '#808080' }));
    const none = await copyOf(readFileSync(path.join(FIXTURES, 'no-face', readdirSync(path.join(FIXTURES, 'no-face'))[0]!)));
    const where = (found: Awaited<ReturnType<typeof detectFaces>>) =>
      found!.faces.length === 0 ? 'none' : found!.faces[0]!.x > FACE_INPUT_EDGE / 2 ? 'right' : 'left';
    for (let round = 0; round < 2; round++) {
      const order = [right, left, none, left, none, right, none, right, left];
      const found = await Promise.all(order.map((pixels) => detectFaces(pixels, 30_000)));
      expect(found.map(where)).toEqual(order.map((pixels) => (pixels === right ? 'right' : pixels === left ? 'left' : 'none')));
    }
  }, 60_000);

  it('finds the face on a smaller copy and reports it in the analysis copy’s pixels', async () => {
    expect(DETECTOR_EDGE).toBeLessThan(FACE_INPUT_EDGE);
    // The portrait fills x 900–1500 of a 1500 × 600 canvas: x 384–640 of its 640 px copy, 288–480 of a 480 px one.
    const wide = await portraitOnCanvas({ width: 1500, height: 600, size: 600, left: 900, top: 0, background: '#808080' });
    const { data, info } = await sharp(wide)
      .resize(FACE_INPUT_EDGE, FACE_INPUT_EDGE, { fit: 'inside' })
      .raw()
      .toBuffer({ resolveWithObject: true });
    expect(info.width).toBe(FACE_INPUT_EDGE);
    const found = await detectFaces({ data, width: info.width, height: info.height }, 30_000);
    expect(found?.faces).toHaveLength(1);
    const face = found!.faces[0]!;
    expect(face.x).toBeGreaterThanOrEqual(384);
    expect(face.x + face.width).toBeLessThanOrEqual(FACE_INPUT_EDGE);
    // A face of the portrait's proportions (its mesh spans about a third to a half of the 256 px portrait).
    expect(face.height).toBeGreaterThan(256 / 4);
    expect(face.height).toBeLessThan(256);
  }, 60_000);
});

describe('the face check’s time limit', () => {
  it('starts once the models are loaded: the first check after the thread ended is not cut short by loading them', async () => {
    const { data, info } = await sharp(ASTRONAUT).resize(640, 640).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    const pixels = { data, width: info.width, height: info.height };
    // On this machine: the first check on a new thread (starting it, loading the models), then another.
    await closeFacePool();
    const cold = await timed(() => detectFaces(pixels, 60_000));
    const check = await timed(() => detectFaces(pixels, 60_000));
    expect(cold.result?.faces).toHaveLength(1);
    expect(check.result?.faces).toHaveLength(1);
    // A limit the first check overruns with the loading counted, and a check keeps by half as much again.
    const limit = Math.round(cold.ms * 0.6);
    expect(limit, 'loading the models takes much longer than a check').toBeGreaterThan(check.ms * 1.5);
    await closeFacePool();
    const first = await timed(() => detectFaces(pixels, limit));
    expect(
      first.result?.faces,
      `a check limited to ${limit} ms (the first on a new thread ${Math.round(cold.ms)} ms, another ${Math.round(check.ms)} ms; this one ${Math.round(first.ms)} ms)`,
    ).toHaveLength(1);
    expect(first.ms).toBeGreaterThan(limit);
    // A check that does overrun its limit is still skipped.
    expect(await detectFaces(pixels, 1)).toBeUndefined();
  }, 120_000);
});

describe('the face check at start-up', () => {
  it('loads the models, then lets the thread go, unless a picture asked for it meanwhile', async () => {
    await closeFacePool();
    await checkFaceModels();
    expect(faceCheckState()).toBe('idle');
    // A picture arriving while the start-up check runs keeps the thread and its models.
    const checked = checkFaceModels();
    expect(faceCheckState()).toBe('loading');
    await expectFaceCheck();
    await checked;
    expect(faceCheckState()).toBe('ready');
    // So does one that arrived before it (the server listens before it checks the models).
    await closeFacePool();
    const arrived = expectFaceCheck();
    await checkFaceModels();
    await arrived;
    expect(faceCheckState()).toBe('ready');
  }, 60_000);
});

describe('framing without a face', () => {
  it('centres every variant on the attention point: a red disc at the left of a wide grey photo is in the avatar', async () => {
    // Wide enough that every frame leaves most of it out; a centre crop would show only grey.
    const disc = Buffer.from(
      '<svg xmlns="http://www.w3.org/2000/svg" width="300" height="300"><circle cx="150" cy="150" r="150" fill="#ff0000"/></svg>',
    );
    const wide = await sharp({ create: { width: 2048, height: 1152, channels: 3, background: '#808080' } })
      .composite([{ input: disc, left: 60, top: 420 }])
      .jpeg()
      .toBuffer();
    const image = await analyse(wide, 0);
    expect(image.analysis!.focus).toBeNull();
    for (const variant of image.variants.filter((v) => v.shape === 'avatar')) {
      const [red, green] = (await sharp(variant.buffer).stats()).channels;
      expect(red!.max, `${variant.width} px avatar`).toBeGreaterThan(200);
      expect(green!.min, `${variant.width} px avatar`).toBeLessThan(60);
    }
  }, 60_000);
});

describe('face-framed variants keep their detail', () => {
  /** A portrait on a canvas, with fine grain everywhere (a cut from the wrong pixels loses or moves it). */
  const grainyPortrait = async (options: Parameters<typeof portraitOnCanvas>[0]) => {
    const { data, info } = await sharp(await portraitOnCanvas(options))
      .raw()
      .toBuffer({ resolveWithObject: true });
    for (let i = 0; i < data.length; i++) data[i] = Math.max(0, Math.min(255, data[i]! + ((i * 7919) % 41) - 20));
    return sharp(data, { raw: { width: info.width, height: info.height, channels: 3 } })
      .jpeg({ quality: 95 })
      .toBuffer();
  };

  it('cuts a tight frame from the master at full resolution (no enlargement)', async () => {
    // A large photo with fine grain everywhere; the face is small in it, so its card frame is
    // tight: a cut from any copy smaller than the master would be enlarged and lose the grain.
    const grainy = await grainyPortrait({ width: 2000, height: 2500, size: 1000, left: 500, top: 700 });
    const image = await analyse(grainy);
    const face = image.analysis!.faces![0]!;
    const spec = { shape: 'card' as const, width: 640, height: 800 };
    const frame = frameAround({ ...face, source: 'face' }, spec, image);
    // What the variant should show: the same frame cut from the stored master at full resolution.
    const expected = await sharp(image.buffer).extract(frame).resize(640, 800, { fit: 'cover' }).removeAlpha().raw().toBuffer();
    const card = image.variants.find((variant) => variant.shape === 'card' && variant.width === 640)!;
    const actual = await sharp(card.buffer).removeAlpha().raw().toBuffer();
    let difference = 0;
    for (let i = 0; i < expected.length; i++) difference += Math.abs(expected[i]! - actual[i]!);
    // WebP at quality 75 differs a little everywhere; an enlarged cut loses the grain and differs a lot.
    expect(difference / expected.length).toBeLessThan(6);
  }, 60_000);

  it('shows the avatar its own frame of the master where it is made from the card’s finer pixels', async () => {
    // A face framed in a portrait photo: the avatar's frame lies inside the card's, lower than the
    // card's top and narrower, so pixels taken from the wrong place of the card's cut would show.
    const grainy = await grainyPortrait({ width: 1536, height: 2048, size: 900, left: 300, top: 500 });
    const image = await analyse(grainy);
    const face = { ...image.analysis!.faces![0]!, source: 'face' as const };
    const frame = frameAround(face, { shape: 'avatar', width: 384, height: 384 }, image);
    const card = frameAround(face, { shape: 'card', width: 640, height: 800 }, image);
    // The case this test is about: the card's frame holds the avatar's, away from its corner.
    expect(frame.left).toBeGreaterThan(card.left);
    expect(frame.top).toBeGreaterThan(card.top);
    expect(frame.top + frame.height).toBeLessThan(card.top + card.height);
    const master = sharp(image.buffer);
    const cut = (region: typeof frame) => master.clone().extract(region).resize(384, 384, { fit: 'cover' }).removeAlpha().raw().toBuffer();
    const avatar = image.variants.find((variant) => variant.shape === 'avatar' && variant.width === 384)!;
    const actual = await sharp(avatar.buffer).removeAlpha().raw().toBuffer();
    const distance = (expected: Buffer) => {
      let sum = 0;
      for (let i = 0; i < expected.length; i++) sum += Math.abs(expected[i]! - actual[i]!);
      return sum / expected.length;
    };
    const own = distance(await cut(frame));
    // The same frame a few pixels of the master off: what a misplaced region would show.
    const shifted = distance(await cut({ ...frame, left: frame.left - 12, top: frame.top - 12 }));
    expect(own).toBeLessThan(6);
    expect(shifted).toBeGreaterThan(own * 1.5);
  }, 60_000);

  it('shows each avatar width its own frame: a face too small to fill the largest frame is cut tighter at the smaller widths', async () => {
    // A 400 px portrait (its face about 130 px tall) in a 1024 px photo: the 384 px avatar needs a
    // frame of at least 384 pixels, the 96 and 192 px ones frame the face closer.
    const photo = await portraitOnCanvas({ width: 1024, height: 768, size: 400, left: 560, top: 200 });
    const image = await analyse(photo);
    const face = image.analysis!.faces![0]!;
    const avatar = async (width: number) => {
      const spec = { shape: 'avatar' as const, width, height: width };
      const variant = image.variants.find((v) => v.shape === 'avatar' && v.width === width)!;
      return {
        frame: frameAround({ ...face, source: 'face' }, spec, image),
        pixels: await sharp(variant.buffer).removeAlpha().raw().toBuffer(),
      };
    };
    const largest = await avatar(384);
    const master = sharp(image.buffer);
    const cut = (frame: typeof largest.frame, width: number) =>
      master.clone().extract(frame).resize(width, width, { fit: 'cover' }).removeAlpha().raw().toBuffer();
    const distance = (a: Buffer, b: Buffer) => {
      let sum = 0;
      for (let i = 0; i < a.length; i++) sum += Math.abs(a[i]! - b[i]!);
      return sum / a.length;
    };
    for (const width of [96, 192]) {
      const { frame, pixels } = await avatar(width);
      expect(frame.height, `${width} px frame`).toBeLessThan(largest.frame.height * 0.8);
      const own = distance(pixels, await cut(frame, width));
      const ofLargest = distance(pixels, await cut(largest.frame, width));
      expect(own, `${width} px avatar against its own frame`).toBeLessThan(6);
      expect(ofLargest, `${width} px avatar against the 384 px frame`).toBeGreaterThan(own * 2);
    }
  }, 60_000);
});

describe('quality hints', () => {
  const astronaut = async () => sharp(await sharp(ASTRONAUT).resize(600, 600).toBuffer());
  /** A clean colour headshot, 600 × 750, with a camera named in its EXIF. */
  const clean = async () =>
    (await astronaut())
      .extend({ top: 75, bottom: 75, background: '#d8d4cf' })
      .withExif({ IFD0: { Make: 'Canon', Model: 'EOS R6' } })
      .jpeg({ quality: 92 })
      .toBuffer();

  it('a clean colour portrait headshot gets none', async () => {
    expect(await hintsOf(await clean())).toEqual([]);
  }, 60_000);

  const cases: [HintCode, () => Promise<Buffer>][] = [
    ['no_face', () => readFileSync(path.join(FIXTURES, 'no-face', 'gnome-dice.jpg')) as unknown as Promise<Buffer>],
    ['multiple_faces', async () => sharp(sample(4)).extract({ left: 100, top: 0, width: 1300, height: 1448 }).jpeg().toBuffer()],
    [
      'face_too_small',
      async () =>
        sharp({ create: { width: 1200, height: 1500, channels: 3, background: '#a0a8b0' } })
          .composite([{ input: await (await astronaut()).resize(420, 420).toBuffer(), left: 390, top: 1080 }])
          .jpeg()
          .toBuffer(),
    ],
    [
      'face_cut_off',
      async () => (await astronaut()).extract({ left: 260, top: 0, width: 340, height: 600 }).resize(500, 882).jpeg().toBuffer(),
    ],
    [
      'blurry',
      async () =>
        sharp(await clean())
          .blur(2.5)
          .jpeg()
          .toBuffer(),
    ],
    [
      'too_dark',
      async () =>
        sharp(await clean())
          .linear(0.22, 0)
          .jpeg()
          .toBuffer(),
    ],
    [
      'overexposed',
      async () =>
        sharp(await clean())
          .linear(2.2, 40)
          .jpeg()
          .toBuffer(),
    ],
    [
      'black_and_white',
      async () =>
        sharp(await clean())
          .greyscale()
          .jpeg()
          .toBuffer(),
    ],
    [
      'low_resolution',
      async () =>
        sharp(await clean())
          .resize(400, 500)
          .jpeg()
          .toBuffer(),
    ],
    ['landscape', async () => (await astronaut()).extend({ left: 150, right: 150, background: '#d8d4cf' }).jpeg().toBuffer()],
    [
      'screenshot',
      async () =>
        sharp(await clean())
          .resize(1170, 2532, { fit: 'contain', background: '#ffffff' })
          .png()
          .toBuffer(),
    ],
  ];
  for (const [code, make] of cases) {
    it(`${code}: raised by a photo that has it, not by the clean headshot`, async () => {
      expect(await hintsOf(await make())).toContain(code);
      expect(await hintsOf(await clean())).not.toContain(code);
    }, 60_000);
  }

  it('screenshot: not raised for a screen-sized photo whose EXIF names a camera', async () => {
    const photo = await sharp(await clean())
      .resize(1170, 2532, { fit: 'contain', background: '#ffffff' })
      .withExif({ IFD0: { Make: 'Apple', Model: 'iPhone 13' } })
      .jpeg()
      .toBuffer();
    expect(await hintsOf(photo)).not.toContain('screenshot');
  }, 60_000);

  it('face_check_skipped: a check that cannot finish in time is skipped; the picture and its variants are still made', async () => {
    const bytes = await clean();
    const image = await analyse(bytes, 1);
    expect(image.analysis!.hints).toContain('face_check_skipped');
    expect(image.analysis!.faces).toBeNull();
    expect(image.variants.map((variant) => `${variant.shape}-${variant.width}`)).toEqual(
      variantSpecsFor(image.width, image.height).map((spec) => `${spec.shape}-${spec.width}`),
    );
    expect(await hintsOf(bytes)).not.toContain('face_check_skipped');
    expect(VARIANT_SPECS.length).toBeGreaterThan(0);
  }, 60_000);
});
