import { describe, expect, it } from 'vitest';
import {
  backgroundProfile,
  chooseUsers,
  genderOf,
  planCode,
  priceCents,
  subscriptionValues,
  talentProfile,
} from '../../src/modules/legacy/mapping.js';

const account = (fields: Record<string, unknown>) => ({
  password: 'pbkdf2_sha256$870000$salt$hash',
  first_name: 'A',
  last_name: 'B',
  is_active: true,
  is_talent: true,
  is_background: false,
  email_verified: false,
  date_joined: '2025-06-25T00:00:00.000Z',
  country: '',
  city: '',
  phone: '',
  gender: '',
  date_of_birth: '1990-01-01',
  ...fields,
});

describe('mapping Django rows to castfolio rows', () => {
  it('keeps one account per email regardless of case: latest sign-in, then a usable password, then the oldest', () => {
    const { users, notes } = chooseUsers([
      account({ id: 1, email: 'Ana@Example.com', last_login: '2025-01-01T00:00:00.000Z' }),
      account({ id: 2, email: 'ana@example.com', last_login: '2025-08-01T00:00:00.000Z' }),
      account({ id: 3, email: 'BO@example.com', last_login: null, password: '!unusable' }),
      account({ id: 4, email: 'bo@example.com', last_login: null }),
      account({ id: 5, email: 'cy@example.com', last_login: null }),
      account({ id: 6, email: 'CY@example.com', last_login: null }),
      account({ id: 7, email: 'staff@example.com', is_talent: false }),
      account({ id: 8, email: 'not-an-email', last_login: null }),
    ]);
    expect([...users.keys()].sort()).toEqual([2, 4, 5]);
    expect(users.get(2)?.email).toBe('ana@example.com');
    expect(notes.map((n) => `${n.sourceId} ${n.action}`).sort()).toEqual(['1 skipped', '3 skipped', '6 skipped', '7 skipped', '8 skipped']);
  });

  it('reads the profile placeholders as unset and falls back to the account', () => {
    const row = account({ id: 9, email: 'x@example.com', country: 'Jordan', city: 'Amman', gender: 'Female' });
    expect(
      talentProfile(row, {
        country: 'country',
        city: 'city',
        phone: '',
        gender: 'Male',
        date_of_birth: null,
        profile_picture: '',
        aboutyou: null,
      }),
    ).toEqual({
      user_id: 9,
      aboutyou: null,
      city: 'Amman',
      country: 'Jordan',
      phone: null,
      date_of_birth: '1990-01-01',
      gender: 'Female',
      profile_picture: null,
    });
    expect(backgroundProfile(row, undefined)).toMatchObject({ country: 'Jordan', gender: 'Female', profile_picture: null });
  });

  it('takes a profile gender other than the default Male, maps the 0001-era letters, and never invents one', () => {
    expect(genderOf('Other', 'Female')).toBe('Other');
    expect(genderOf('Male', 'Female')).toBe('Female');
    expect(genderOf('Male', 'Male')).toBe('Male');
    expect(genderOf('Male', '')).toBeNull();
    expect(genderOf('F', '')).toBe('Female');
    expect(genderOf('Unknown', 'Prefer not to say')).toBe('Prefer not to say');
  });

  it('turns decimal prices into exact cents', () => {
    expect([priceCents('12.50'), priceCents('0.05'), priceCents('99'), priceCents('249.9'), priceCents('-1'), priceCents(null)]).toEqual([
      1250,
      5,
      9900,
      24990,
      null,
      null,
    ]);
  });

  it('maps plans, including the legacy names, and counts a subscription active only as Django does', () => {
    expect(['premium', 'platinum', 'background_jobs', 'back_ground_jobs', 'gold', 'bands'].map(planCode)).toEqual([
      'premium',
      'platinum',
      'background_jobs',
      'background_jobs',
      'premium',
      undefined,
    ]);
    const row = {
      user_id: 5,
      status: 'active',
      is_active: true,
      start_date: '2025-06-01T00:00:00.000Z',
      current_period_end: null,
      end_date: null,
    };
    expect(subscriptionValues(row, 'premium', 12)).toMatchObject({ status: 'active', end_date: '2026-06-01T00:00:00.000Z' });
    expect(subscriptionValues({ ...row, is_active: false }, 'premium', 12).status).toBe('cancelled');
    expect(subscriptionValues({ ...row, status: 'past_due' }, 'premium', 12).status).toBe('cancelled');
    expect(subscriptionValues({ ...row, current_period_end: '2025-12-01T00:00:00.000Z' }, 'premium', 12).end_date).toBe(
      '2025-12-01T00:00:00.000Z',
    );
  });
});
