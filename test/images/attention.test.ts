import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { attentionPoint } from '../../src/images/attention.js';

/** An SVG drawing as the tiny RGBA copy the pipeline gives attentionPoint (at most 32 px long). */
async function tiny(svg: string) {
  const { data, info } = await sharp(Buffer.from(svg))
    .resize(32, 32, { fit: 'inside', kernel: 'mitchell' })
    .toColourspace('srgb')
    .ensureAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

const point = async (svg: string) => {
  const { data, width, height } = await tiny(svg);
  return attentionPoint(data, width, height);
};

describe('attentionPoint', () => {
  it('finds a red disc at the left of a wide grey picture', async () => {
    const found = await point(
      '<svg xmlns="http://www.w3.org/2000/svg" width="1600" height="900"><rect width="1600" height="900" fill="#808080"/><circle cx="250" cy="450" r="150" fill="#e02020"/></svg>',
    );
    expect(found.x).toBeLessThan(0.25);
    expect(found.y).toBeGreaterThan(0.35);
    expect(found.y).toBeLessThan(0.65);
  });

  it('finds a skin-toned face shape on a grey wall of the same brightness, high on the right', async () => {
    const found = await point(
      '<svg xmlns="http://www.w3.org/2000/svg" width="900" height="1200"><rect width="900" height="1200" fill="#a39c97"/><ellipse cx="650" cy="300" rx="110" ry="140" fill="#d9a27f"/></svg>',
    );
    expect(found.x).toBeGreaterThan(0.6);
    expect(found.y).toBeLessThan(0.4);
  });

  it('answers the centre for a flat picture, where nothing stands out (grey or coloured)', async () => {
    for (const fill of ['#808080', '#3060a0', '#e02020']) {
      const found = await point(
        `<svg xmlns="http://www.w3.org/2000/svg" width="800" height="600"><rect width="800" height="600" fill="${fill}"/></svg>`,
      );
      // Within a pixel of the 32 × 24 copy's centre.
      expect(Math.abs(found.x - 0.5), fill).toBeLessThanOrEqual(1 / 32);
      expect(Math.abs(found.y - 0.5), fill).toBeLessThanOrEqual(1 / 24);
    }
  });

  it('does not look at what is transparent: a red disc drawn invisible loses to the visible one', async () => {
    const found = await point(
      '<svg xmlns="http://www.w3.org/2000/svg" width="1600" height="800">' +
        '<circle cx="250" cy="400" r="200" fill="#ff0000" fill-opacity="0.004"/>' +
        '<circle cx="1300" cy="400" r="120" fill="#c03030"/></svg>',
    );
    expect(found.x).toBeGreaterThan(0.7);
  });

  it('lets a subject win over a lone speck of colour', async () => {
    // A small bright dot in one corner and a larger textured subject (stripes) at the other side.
    const stripes = Array.from({ length: 8 }, (_, i) => `<rect x="${1000 + i * 50}" y="250" width="25" height="400" fill="#202020"/>`).join(
      '',
    );
    const found = await point(
      `<svg xmlns="http://www.w3.org/2000/svg" width="1600" height="900"><rect width="1600" height="900" fill="#c8c8c8"/><circle cx="60" cy="60" r="30" fill="#ff00ff"/>${stripes}</svg>`,
    );
    expect(found.x).toBeGreaterThan(0.55);
  });
});
