import { Type } from 'typebox';
import type { SocialLinks } from './repository.js';

const Link = Type.Union([Type.String(), Type.Null()]);
export const SocialLinksObject = Type.Object({ facebook: Link, instagram: Link, youtube: Link, tiktok: Link });
/** The live serializer: the networks, `user` (the profile, here the user id) and `links` again. */
export const SocialLinksView = Type.Object({ user: Type.Integer(), ...SocialLinksObject.properties, links: SocialLinksObject });

export function socialLinksView(userId: number, links: SocialLinks) {
  return { user: userId, ...links, links: { ...links } };
}
