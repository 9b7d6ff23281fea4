import fastJson from 'fast-json-stringify';
import { Type } from 'typebox';
import { BoundedMap } from '../../bounded-map.js';
import type { StoredVariant } from './references.js';

/** What is known of a stored picture: read with the row that references it (a join on `pictures`). */
export interface PictureDetails {
  width: number;
  height: number;
  placeholder: string | null;
  variants: readonly StoredVariant[];
}

/** The joined `pictures` columns of a row, or null when the picture has none (stored before, or not a picture). */
export function pictureFromColumns(columns: {
  width: number | null;
  height: number | null;
  placeholder: string | null;
  variants: string | null;
}): PictureDetails | null {
  if (columns.width === null || columns.height === null || columns.variants === null) return null;
  // A record never changes once written (a new picture gets new names): the same variants text is
  // the same picture, parsed once and then described from cache (see pictureInfoView).
  const known = recorded.get(columns.variants);
  if (known) return known;
  const details: PictureDetails = {
    width: Number(columns.width),
    height: Number(columns.height),
    placeholder: columns.placeholder,
    variants: JSON.parse(columns.variants) as StoredVariant[],
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
  return {
    width: details.width,
    height: details.height,
    placeholder: details.placeholder,
    variants,
    srcset: { avatar: srcset('avatar'), card: srcset('card') },
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
