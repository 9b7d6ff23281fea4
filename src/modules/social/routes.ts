import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AccountGuards } from '../accounts/guards.js';
import { DetailError } from '../common.js';
import { parseSocialLinks, type SocialLinksService } from './service.js';
import { SocialLinksObject, SocialLinksView, socialLinksView } from './view.js';

const Refused = Type.Object({ error: Type.String() }, { additionalProperties: true });

export const socialRoutes: FastifyPluginAsyncTypebox<{ social: SocialLinksService; guards: AccountGuards }> = async (
  app,
  { social, guards },
) => {
  const talent = guards.requireRole('talent');
  app.get(
    '/api/profile/social-media/',
    {
      onRequest: talent,
      schema: {
        tags: ['profiles'],
        summary: "The talent's social media links",
        response: { 200: SocialLinksView, 401: DetailError, 403: DetailError },
      },
    },
    async (request) => {
      const user = guards.user(request);
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
        body: Type.Partial(SocialLinksObject),
        response: {
          200: Type.Object({ message: Type.String(), social_media_links: SocialLinksView }),
          400: Refused,
          401: DetailError,
          403: DetailError,
        },
      },
    },
    async (request) => {
      const user = guards.user(request);
      const { links, updated } = await social.update(user.id, parseSocialLinks(request.body));
      return {
        message: `Social media links updated successfully. Updated: ${updated.join(', ')}`,
        social_media_links: socialLinksView(user.id, links),
      };
    },
  );
};
