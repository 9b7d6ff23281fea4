import fastJson from 'fast-json-stringify';
import { Type } from 'typebox';
import { BoundedMap } from '../../bounded-map.js';
import { HINTS, type HintCode, type PictureAnalysis } from '../../images/analysis.js';
import type { StoredVariant } from './references.js';

/** What is known of a stored picture: read with the row that references it (a join on `pictures`). */
export interface PictureDetails {
  width: number;
  height: number;
  placeholder: string | null;
  variants: readonly StoredVariant[];
  /** Null for a picture stored before analyses existed (until `media backfill`). */
  analysis: PictureAnalysis | null;
}

/** The joined `pictures` columns of a row, or null when the picture has none (stored before, or not a picture). */
export function pictureFromColumns(columns: {
  width: number | null;
  height: number | null;
  placeholder: string | null;
  variants: string | null;
  analysis: string | null;
}): PictureDetails | null {
  if (columns.width === null || columns.height === null || columns.variants === null) return null;
  // A record's columns change only together with its variants (a new picture, a re-framing or a
  // backfilled analysis writes a new variant set): the same variants text is the same description,
  // parsed once and then described from cache (see pictureInfoView).
  const known = recorded.get(columns.variants);
  if (known) return known;
  const details: PictureDetails = {
    width: Number(columns.width),
    height: Number(columns.height),
    placeholder: columns.placeholder,
    variants: JSON.parse(columns.variants) as StoredVariant[],
    analysis: columns.analysis ? (JSON.parse(columns.analysis) as PictureAnalysis) : null,
  };
  recorded.set(columns.variants, details);
  return details;
}

/**
 * Pictures read recently, by their variants text (unique to each picture: it names its variant set).
 * About 3 kB each with their view and JSON; past 1 000 the map starts again (a miss only parses).
 */
const recorded = new BoundedMap<string, PictureDetails>(1_000);
/** Their API view, built once per public URL base. */
const views = new WeakMap<PictureDetails, { firstUrl: string; view: ReturnType<typeof describe> }>();

const SHAPES = ['avatar', 'card'] as const;

/**
 * A picture as the API describes it: its size, its ThumbHash placeholder, each variant with its URL,
 * and per shape a ready `srcset` (WebP; AVIF variants, when configured, are listed in `variants`).
 */
export function pictureInfoView(details: PictureDetails | null, urlFor: (name: string) => string) {
  if (!details) return null;
  const first = details.variants[0];
  const firstUrl = first ? urlFor(first.name) : '';
  const cached = views.get(details);
  if (cached?.firstUrl === firstUrl) return cached.view;
  const view = describe(details, urlFor);
  views.set(details, { firstUrl, view });
  return view;
}

function describe(details: PictureDetails, urlFor: (name: string) => string) {
  const variants = details.variants.map((variant) => ({
    url: urlFor(variant.name),
    shape: variant.shape as (typeof SHAPES)[number],
    width: variant.width,
    height: variant.height,
    format: variant.format as 'webp' | 'avif',
    bytes: variant.bytes,
  }));
  const srcset = (shape: (typeof SHAPES)[number]) =>
    variants
      .filter((variant) => variant.shape === shape && variant.format === 'webp')
      .map((variant) => `${variant.url} ${variant.width}w`)
      .join(', ') || null;
  const { analysis } = details;
  return {
    width: details.width,
    height: details.height,
    placeholder: details.placeholder,
    variants,
    srcset: { avatar: srcset('avatar'), card: srcset('card') },
    faces: analysis?.faces ?? null,
    focus: analysis?.focus ?? null,
    hints: analysis ? analysis.hints.filter((code) => code in HINTS).map((code: HintCode) => ({ code, message: HINTS[code] })) : null,
    captured_at: analysis?.capturedAt ?? null,
  };
}

const Variant = Type.Object({
  url: Type.String({ examples: ['https://media.example.com/media/profile_pictures/5_q2Vx3xJ9K0aHn1cY7dWw-avatar-192.webp'] }),
  shape: Type.Enum(SHAPES, { description: 'avatar: square; card: 4:5 portrait.' }),
  width: Type.Integer({ examples: [192] }),
  height: Type.Integer({ examples: [192] }),
  format: Type.Enum(['webp', 'avif']),
  bytes: Type.Integer({ examples: [6778] }),
});

const Face = Type.Object({
  x: Type.Integer({ examples: [402] }),
  y: Type.Integer({ examples: [318] }),
  width: Type.Integer({ examples: [512] }),
  height: Type.Integer({ examples: [596] }),
  score: Type.Number({ description: 'The detector’s confidence, 0–1.', examples: [0.93] }),
});

const Focus = Type.Object({
  x: Type.Integer({ examples: [402] }),
  y: Type.Integer({ examples: [318] }),
  width: Type.Integer({ description: '0 for a point.', examples: [512] }),
  height: Type.Integer({ description: '0 for a point.', examples: [596] }),
  source: Type.Enum(['face', 'user'], { description: 'face: the largest face found; user: set by the performer.' }),
});

const Hint = Type.Object({
  code: Type.Enum(Object.keys(HINTS) as HintCode[], { description: 'Stable: clients may show their own words for it.' }),
  message: Type.String({ examples: [HINTS.face_too_small] }),
});

/** The OpenAPI description of pictureInfoView (null: a picture stored before variants existed, until `media backfill`). */
export const PictureInfo = Type.Union(
  [
    Type.Object(
      {
        width: Type.Integer({ description: 'The master picture’s width in pixels.', examples: [1536] }),
        height: Type.Integer({ description: 'The master picture’s height in pixels.', examples: [2048] }),
        placeholder: Type.Union([Type.String(), Type.Null()], {
          description: 'ThumbHash (base64) of the picture: decode it client-side to paint a blurred preview before any image loads.',
          examples: ['1QcSHQRnh493V4dIh4eXh1h4kJUI'],
        }),
        variants: Type.Array(Variant, { description: 'Sized copies stored beside the master, each under its own immutable URL.' }),
        srcset: Type.Object(
          {
            avatar: Type.Union([Type.String(), Type.Null()], {
              examples: ['…-avatar-96.webp 96w, …-avatar-192.webp 192w, …-avatar-384.webp 384w'],
            }),
            card: Type.Union([Type.String(), Type.Null()], { examples: ['…-card-320.webp 320w, …-card-640.webp 640w'] }),
          },
          { description: 'Ready for <img srcset>: the WebP variants of each shape (null when the picture is too small for any).' },
        ),
        faces: Type.Union([Type.Array(Face), Type.Null()], {
          description:
            'Faces found at upload, largest first, in the master’s pixels (null: the check did not run, or the picture predates it).',
        }),
        focus: Type.Union([Focus, Type.Null()], {
          description:
            'What the avatar and card variants are framed around: the largest face, or a frame the performer set. Null: no face, so the variants are framed around the picture’s attention point (where edges, skin tones and strong colour gather).',
        }),
        hints: Type.Union([Type.Array(Hint), Type.Null()], {
          description:
            'Advisory quality hints (never a reason the upload was refused); empty when nothing was found. Null for a picture stored before the checks existed.',
          examples: [[{ code: 'landscape', message: HINTS.landscape }]],
        }),
        captured_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], {
          description: 'When the photo was taken (EXIF DateTimeOriginal, JPEG or HEIC), the only metadata kept; null when it had none.',
          examples: ['2026-05-14T16:02:11.000Z'],
        }),
      },
      { description: 'Size, placeholder and responsive variants of the picture; the picture’s own URL is unchanged.' },
    ),
    Type.Null(),
  ],
  { description: 'Null when there is no picture, or it was stored before variants existed (until `media backfill` runs).' },
);

const serializeInfo = fastJson(PictureInfo as object);
const infoJson = new WeakMap<object, Buffer>();
const NULL_JSON = Buffer.from('null');

/** A picture's description as JSON bytes, written once per described view (see pictureInfoView's cache). */
export function pictureInfoJson(view: ReturnType<typeof pictureInfoView>): Buffer {
  if (!view) return NULL_JSON;
  let json = infoJson.get(view);
  if (!json) {
    json = Buffer.from(serializeInfo(view));
    infoJson.set(view, json);
  }
  return json;
}
