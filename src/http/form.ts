import type { FastifyRequest } from 'fastify';

export type FormFields = Record<string, string | string[]>;

/**
 * The submitted fields of a JSON, urlencoded or multipart body. Repeated multipart fields become
 * arrays, which field validation then refuses as "Not a valid string.".
 */
export async function readBody(request: FastifyRequest): Promise<unknown> {
  if (!request.isMultipart()) return request.body ?? {};
  const fields: FormFields = {};
  for await (const part of request.parts()) {
    if (part.type === 'file') {
      // Files are consumed so the request completes; routes that accept files read them themselves.
      part.file.resume();
      continue;
    }
    const value = typeof part.value === 'string' ? part.value : String(part.value);
    const previous = fields[part.fieldname];
    fields[part.fieldname] = previous === undefined ? value : [...(Array.isArray(previous) ? previous : [previous]), value];
  }
  return fields;
}

/** The absolute origin of the request, for building absolute media URLs like DRF's build_absolute_uri. */
export function requestOrigin(request: FastifyRequest): string {
  return `${request.protocol}://${request.host}`;
}

/** DRF-style boolean query flag; anything but a recognised value is rejected by the route schema. */
export function queryFlag(value: string | undefined, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  return ['true', '1'].includes(value.toLowerCase());
}
