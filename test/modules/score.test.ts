import { describe, expect, it } from 'vitest';
import { backgroundScore, itemQuantityPoints, talentScore } from '../../src/modules/profiles/score.js';

const complete = { country: 'USA', dateOfBirth: '1985-05-15', gender: 'Male' };

describe('background score', () => {
  it.each([
    [0, 0],
    [1, 10],
    [5, 10],
    [6, 15],
    [10, 15],
    [11, 20],
    [20, 20],
    [21, 25],
    [500, 25],
  ])('gives %i items %i quantity points', (count, points) => {
    expect(itemQuantityPoints(count)).toBe(points);
  });

  it('adds the components as the API guide example does', () => {
    const score = backgroundScore({
      accountType: 'back_ground_jobs',
      ...complete,
      itemTypes: ['prop', 'costume', 'vehicle'],
      itemCount: 4,
    });
    expect(score).toMatchObject({ account_tier: 25, profile_completion: 15, item_diversity: 15, item_quantity: 10, total: 65 });
  });

  it('names the types offered and suggests the missing ones', () => {
    const score = backgroundScore({ accountType: 'free', ...complete, itemTypes: ['vehicle', 'prop', 'unknown'], itemCount: 2 });
    expect(score.item_diversity).toBe(10);
    expect(score.details.item_diversity).toBe('2 item types offered (props, vehicles): 10 of 40 points (5 per type).');
    expect(score.improvement_tips).toContain(
      'Offer costumes, locations, memorabilia, artistic materials, music items, rare items for +5 points per new type.',
    );
  });

  it('caps the total at 100', () => {
    const score = backgroundScore({
      accountType: 'back_ground_jobs',
      ...complete,
      itemTypes: ['prop', 'costume', 'location', 'memorabilia', 'vehicle', 'artistic_material', 'music_item', 'rare_item'],
      itemCount: 40,
    });
    expect(score.item_diversity).toBe(40);
    expect(score.total).toBe(100);
    expect(score.improvement_tips).toEqual([]);
  });

  it('gives completion points only when country, birth date and gender are all set, and says what is missing', () => {
    const score = backgroundScore({ accountType: 'free', country: 'USA', dateOfBirth: null, gender: null, itemTypes: [], itemCount: 0 });
    expect(score.profile_completion).toBe(0);
    expect(score.account_tier).toBe(0);
    expect(score.details.profile_completion).toContain('date of birth, gender');
    expect(score.improvement_tips.some((tip) => tip.includes('Subscribe'))).toBe(true);
  });
});

describe('talent score', () => {
  const base = { accountType: 'free', emailVerified: false, aboutyou: null, hasPicture: false, country: null, dateOfBirth: null };

  it.each([
    ['free', 5],
    ['premium', 15],
    ['platinum', 25],
  ])('gives a %s account %i tier points', (accountType, points) => {
    expect(talentScore({ ...base, accountType }).account_tier).toBe(points);
  });

  it('counts verification and each completion part', () => {
    const score = talentScore({
      accountType: 'premium',
      emailVerified: true,
      aboutyou: 'x'.repeat(51),
      hasPicture: true,
      country: 'USA',
      dateOfBirth: '1990-01-01',
    });
    expect(score).toMatchObject({ account_tier: 15, verification: 25, profile_completion: 15, total: 55 });
  });

  it('needs more than 50 characters about oneself', () => {
    expect(talentScore({ ...base, aboutyou: 'x'.repeat(50) }).profile_completion).toBe(0);
    expect(talentScore({ ...base, aboutyou: 'x'.repeat(51) }).profile_completion).toBe(5);
  });
});
