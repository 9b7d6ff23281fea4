import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Guards } from '../../auth/guard.js';
import { currentUser } from '../../auth/guard.js';
import { DetailError } from '../common.js';
import type { SocialLinks } from './repository.js';
import { parseSocialLinks, type SocialLinksService } from './service.js';

const Link = Type.Union([Type.String(), Type.Null()]);
const Links = Type.Object({ facebook: Link, instagram: Link, youtube: Link, tiktok: Link });
/** The live serializer: the networks, `user` (the profile, here the user id) and `links` again. */
export const SocialLinksView = Type.Object({ user: Type.Integer(), facebook: Link, instagram: Link, youtube: Link, tiktok: Link, links: Links });
const Refused = Type.Object({ error: Type.String() }, { additionalProperties: true });

export function socialLinksView(userId: number, links: SocialLinks) {
  return { user: userId, ...links, links: { ...links } };
}

export const socialRoutes: FastifyPluginAsyncTypebox<{ social: SocialLinksService; guards: Guards }> = async (app, { social, guards }) => {
  const talent = guards.requireRole('talent');
  app.get(
    '/api/profile/social-media/',
    { onRequest: talent, schema: { tags: ['profiles'], summary: "The talent's social media links", response: { 200: SocialLinksView, 401: DetailError, 403: DetailError } } },
    async (request) => {
      const user = currentUser(request);
      return socialLinksView(user.id, await social.get(user.id));
    },
  );
  app.post(
    '/api/profile/social-media/',
    {
      onRequest: talent,
      schema: {
        tags: ['profiles'],
        summary: 'Set some of facebook, instagram, youtube, tiktok (http(s) URLs; empty clears one)',
        body: Type.Partial(Type.Object({ facebook: Link, instagram: Link, youtube: Link, tiktok: Link })),
        response: { 200: Type.Object({ message: Type.String(), social_media_links: SocialLinksView }), 400: Refused, 401: DetailError, 403: DetailError },
      },
    },
    async (request) => {
      const user = currentUser(request);
      const { links, updated } = await social.update(user.id, parseSocialLinks(request.body));
      return { message: `Social media links updated successfully. Updated: ${updated.join(', ')}`, social_media_links: socialLinksView(user.id, links) };
    },
  );
};
