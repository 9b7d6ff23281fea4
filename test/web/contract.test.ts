import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { contractFiles, openApiDocument } from '../../scripts/api-contract.js';
import { SCORE_MAXIMUMS } from '../../src/modules/profiles/score.js';

describe('the web page’s contract with the API', () => {
  it('is generated from the OpenAPI document the API serves now (npm run contract rewrites it)', async () => {
    const files = await contractFiles(await openApiDocument());
    expect(
      Object.keys(files)
        .map((file) => path.basename(file))
        .sort(),
    ).toEqual(['constants.ts', 'openapi.d.ts']);
    for (const [file, text] of Object.entries(files)) {
      expect(readFileSync(file, 'utf8'), `${path.relative(process.cwd(), file)} is out of date: run npm run contract`).toBe(text);
    }
  });

  it('carries the genders, the item catalogue and the score maxima the API enforces', async () => {
    const constants = await import('../../web/src/contract/constants.js');
    expect(constants.GENDERS).toEqual(['Male', 'Female', 'Other', 'Prefer not to say']);
    expect(Object.keys(constants.ITEM_FIELDS)).toEqual([
      'prop',
      'costume',
      'location',
      'memorabilia',
      'vehicle',
      'artistic_material',
      'music_item',
      'rare_item',
    ]);
    const memorabilia = constants.ITEM_FIELDS.memorabilia.map((field) => `${field.name}:${field.kind}`);
    expect(memorabilia).toEqual(
      expect.arrayContaining(['image:file', 'authenticity_certificate:file', 'signed_by:text', 'price:number', 'is_for_sale:checkbox']),
    );
    expect(constants.SCORE_MAXIMUMS).toEqual(SCORE_MAXIMUMS);
  });
});
