import { Type, type TSchema } from 'typebox';
import type { Role } from '../../auth/roles.js';
import { ApiError, validationError, type FieldErrors } from '../../errors.js';
import type { UploadedFile } from '../../http/multipart.js';
import { asDictionary, compileInput, NON_FIELD_ERRORS, NOT_A_FILE } from '../../validation.js';
import { birthDateProblem, trimStrings } from '../common.js';
import type { NameChange } from '../accounts/repository.js';
import type { TalentProfilePatch } from './repository.js';
import { BACKGROUND_FIELDS, TALENT_FIELDS } from './schemas.js';

const NO_FIELDS_MESSAGE = 'At least one field must be provided for update.';
export const PICTURE_FIELD = 'profile_picture';

/** A profile update as received: the parsed body (JSON, form or multipart fields) and any file. */
export interface ProfileForm {
  body: unknown;
  files: Record<string, UploadedFile>;
}

export type PictureChange = { kind: 'keep' } | { kind: 'clear' } | { kind: 'replace'; file: UploadedFile };

/** A validated profile update: profile fields, the user's own fields (talent only) and the picture. */
export interface ProfileChange {
  patch: TalentProfilePatch;
  names: NameChange;
  picture: PictureChange;
}

/** The user's own fields the live talent update accepts beside the profile's (email is not one: see README). */
const USER_FIELDS = {
  first_name: Type.String({ minLength: 1, maxLength: 150 }),
  last_name: Type.String({ minLength: 1, maxLength: 150 }),
  residency: Type.String({ maxLength: 100 }),
};
const validateUserFields = compileInput(Type.Partial(Type.Object(USER_FIELDS)));

/** first_name, last_name and residency of a talent update; an empty residency clears it, empty names are refused. */
function parseNames(body: unknown): NameChange {
  const input = trimStrings(asDictionary(body)) as Record<string, unknown>;
  const present = Object.fromEntries(
    Object.keys(USER_FIELDS)
      .filter((k) => Object.hasOwn(input, k))
      .map((k) => [k, input[k]]),
  );
  const clearsResidency = present.residency === '' || present.residency === null;
  if (clearsResidency) delete present.residency;
  const parsed = validateUserFields(present) as NameChange;
  return clearsResidency ? { ...parsed, residency: null } : parsed;
}

/** profile_picture: a file replaces, an empty value (or JSON null) removes, anything else is refused. */
function pictureChange(body: unknown, files: Record<string, UploadedFile>): PictureChange {
  const file = files[PICTURE_FIELD];
  if (file) return { kind: 'replace', file };
  if (body !== null && typeof body === 'object' && Object.hasOwn(body, PICTURE_FIELD)) {
    const value = (body as Record<string, unknown>)[PICTURE_FIELD];
    if (value === '' || value === null) return { kind: 'clear' };
    throw validationError({ [PICTURE_FIELD]: [NOT_A_FILE] });
  }
  return { kind: 'keep' };
}

/**
 * Validates a profile's fields: empty strings and nulls clear a field, everything else must match
 * its schema; unknown and read-only fields are ignored as DRF does.
 */
function fieldParser(fields: Record<string, TSchema>) {
  const validate = compileInput(Type.Partial(Type.Object(fields)));
  const names = Object.keys(fields);

  return (body: unknown, partial: boolean, now: Date): { patch: Record<string, string | null>; errors: FieldErrors } => {
    const input = trimStrings(asDictionary(body)) as Record<string, unknown>;
    const patch: Record<string, string | null> = {};
    const toValidate: Record<string, unknown> = {};
    for (const name of names) {
      if (!Object.hasOwn(input, name)) continue;
      const value = input[name];
      if (value === '' || value === null) patch[name] = null;
      else toValidate[name] = value;
    }

    const errors: FieldErrors = {};
    if (!partial) {
      for (const name of names) if (!Object.hasOwn(input, name)) errors[name] = ['This field is required.'];
    }
    try {
      Object.assign(patch, validate(toValidate));
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      Object.assign(errors, error.body);
    }
    const dob = patch.date_of_birth;
    if (typeof dob === 'string' && !errors.date_of_birth) {
      const problem = birthDateProblem(dob, now);
      if (problem) errors.date_of_birth = [problem];
    }
    return { patch, errors };
  };
}

const FIELD_PARSERS: Record<Role, ReturnType<typeof fieldParser>> = {
  background: fieldParser(BACKGROUND_FIELDS),
  talent: fieldParser(TALENT_FIELDS),
};

/** A profile update of either kind, validated whole: every problem is named in one 400. */
export function parseProfileForm(kind: Role, form: ProfileForm, partial: boolean, now: Date): ProfileChange {
  const names = kind === 'talent' ? parseNames(form.body) : {};
  const picture = pictureChange(form.body, form.files);
  const { patch, errors } = FIELD_PARSERS[kind](form.body, partial, now);
  if (Object.keys(errors).length > 0) throw validationError(errors);
  if (Object.keys(patch).length === 0 && Object.keys(names).length === 0 && picture.kind === 'keep') {
    throw validationError({ [NON_FIELD_ERRORS]: [NO_FIELDS_MESSAGE] });
  }
  return { patch: patch as TalentProfilePatch, names, picture };
}
