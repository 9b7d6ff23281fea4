import type { FastifyRequest } from 'fastify';

/** The absolute origin of the request, for building absolute media URLs like DRF's build_absolute_uri. */
export function requestOrigin(request: FastifyRequest): string {
  return `${request.protocol}://${request.host}`;
}

/** DRF-style boolean query flag; anything but a recognised value is rejected by the route schema. */
export function queryFlag(value: string | undefined, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  return ['true', '1'].includes(value.toLowerCase());
}
