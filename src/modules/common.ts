import { Type } from 'typebox';

const GENDERS = ['Male', 'Female', 'Other', 'Prefer not to say'] as const;
const MINIMUM_AGE = 18;
const EARLIEST_BIRTH_DATE = '1900-01-01';

export const DateString = Type.String({ format: 'date', maxLength: 10 });
export const Gender = Type.Enum([...GENDERS]);

/** The live service's upload limits in MB (MAX_IMAGE_SIZE, MAX_VIDEO_SIZE), as its `file_limits`. */
export const FileLimitsSchema = Type.Object({
  image_max_mb: Type.Integer({ examples: [10] }),
  video_max_mb: Type.Integer({ examples: [100] }),
});

export const DetailError = Type.Object({ detail: Type.String() }, { additionalProperties: true });
export const FieldErrors = Type.Record(Type.String(), Type.Array(Type.String()));

/** DRF's CharField trims surrounding white space; so do we, for every string but passwords. */
export function trimStrings(input: unknown, keep: readonly string[] = []): unknown {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) return input;
  const result: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(input)) {
    result[key] = typeof value === 'string' && !keep.includes(key) ? value.trim() : value;
  }
  return result;
}

/** Whole years between a 'YYYY-MM-DD' birth date and `today` (UTC). */
function ageOn(dateOfBirth: string, today: Date): number {
  const [year, month, day] = dateOfBirth.split('-').map(Number) as [number, number, number];
  let age = today.getUTCFullYear() - year;
  const beforeBirthday = today.getUTCMonth() + 1 < month || (today.getUTCMonth() + 1 === month && today.getUTCDate() < day);
  if (beforeBirthday) age -= 1;
  return age;
}

/** The problem with an (already well-formed) birth date, if any. */
export function birthDateProblem(dateOfBirth: string, today: Date): string | undefined {
  if (dateOfBirth < EARLIEST_BIRTH_DATE) return `Date of birth must be on or after ${EARLIEST_BIRTH_DATE}.`;
  if (ageOn(dateOfBirth, today) < MINIMUM_AGE) return `You must be at least ${MINIMUM_AGE} years old.`;
  return undefined;
}
