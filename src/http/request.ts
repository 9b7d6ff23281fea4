import type { FastifyRequest } from 'fastify';

/** The absolute origin of the request, for building absolute media URLs like DRF's build_absolute_uri. */
export function requestOrigin(request: FastifyRequest): string {
  return `${request.protocol}://${request.host}`;
}

/** Where a stored file is served from, given the origin of the request asking (storage.publicUrl). */
export type PublicUrl = (name: string, origin: string) => string;

/** The absolute URL of each stored file, as this request's client must load it. */
export function mediaUrlsFor(request: FastifyRequest, publicUrl: PublicUrl): (name: string) => string {
  const origin = requestOrigin(request);
  return (name) => publicUrl(name, origin);
}

/** DRF-style boolean query flag; anything but a recognised value is rejected by the route schema. */
export function queryFlag(value: string | undefined, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  return ['true', '1'].includes(value.toLowerCase());
}
