import { ApiError } from '../../errors.js';
import { SOCIAL_NETWORKS, type SocialLinks, type SocialLinksRepository, type SocialNetwork } from './repository.js';

const MAX_URL_LENGTH = 200;

/** The live service's answers ({"error": …}), with DRF's `detail` or field beside them. */
const refused = (message: string, field?: SocialNetwork) =>
  new ApiError(400, field ? { error: message, detail: message, [field]: [message] } : { error: message, detail: message });

/**
 * The body of POST /api/profile/social-media/, checked as the live view does: only the four
 * networks count, a non-empty value must be an http(s) URL, an empty one (or null) clears it.
 * Stricter than the live view: the URL must parse and fit the column.
 */
export function parseSocialLinks(body: unknown): Partial<SocialLinks> {
  const record = body !== null && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>) : {};
  const patch: Partial<SocialLinks> = {};
  for (const network of SOCIAL_NETWORKS) {
    if (!Object.hasOwn(record, network)) continue;
    const value = record[network];
    if (value === null || value === undefined || (typeof value === 'string' && value.trim() === '')) {
      patch[network] = null;
      continue;
    }
    const url = typeof value === 'string' ? value.trim() : '';
    let valid = /^https?:\/\//i.test(url) && url.length <= MAX_URL_LENGTH;
    try {
      if (valid) new URL(url);
    } catch {
      valid = false;
    }
    if (!valid) throw refused(`Invalid ${network} URL format. URLs must start with http:// or https://`, network);
    patch[network] = url;
  }
  if (Object.keys(patch).length === 0) throw refused('No valid social media fields provided.');
  return patch;
}

export class SocialLinksService {
  constructor(private readonly deps: { links: SocialLinksRepository; clock: () => Date }) {}

  async get(userId: number): Promise<SocialLinks> {
    return (await this.deps.links.find(userId)) ?? { facebook: null, instagram: null, youtube: null, tiktok: null };
  }

  async update(userId: number, patch: Partial<SocialLinks>): Promise<{ links: SocialLinks; updated: SocialNetwork[] }> {
    const links = await this.deps.links.update(userId, patch, this.deps.clock().toISOString());
    return { links, updated: SOCIAL_NETWORKS.filter((n) => Object.hasOwn(patch, n)) };
  }
}
