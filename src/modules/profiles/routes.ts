import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Guards } from '../../auth/guard.js';
import { currentUser } from '../../auth/guard.js';
import { queryFlag, readBody, requestOrigin } from '../../http/form.js';
import { DetailError, FieldErrors } from '../common.js';
import {
  BackgroundProfileResponse,
  BackgroundRestrictionsSchema,
  BackgroundUpdateResponse,
  PartialQuery,
  SubscriptionStatusSchema,
  TalentProfileResponse,
  TalentUpdateResponse,
} from './schemas.js';
import type { ProfileService } from './service.js';

export interface ProfileRoutesOptions {
  profiles: ProfileService;
  guards: Guards;
}

const errorResponses = { 400: FieldErrors, 401: DetailError, 403: DetailError };

export const profileRoutes: FastifyPluginAsyncTypebox<ProfileRoutesOptions> = async (app, { profiles, guards }) => {
  const background = { onRequest: guards.requireRole('background') };
  const talent = { onRequest: guards.requireRole('talent') };

  app.get(
    '/api/profile/background/',
    {
      ...background,
      schema: { tags: ['profiles'], summary: 'Background profile, score, subscription and restrictions', response: { 200: BackgroundProfileResponse, ...errorResponses } },
    },
    async (request) => profiles.background(currentUser(request), requestOrigin(request)),
  );

  app.post(
    '/api/profile/background/',
    {
      ...background,
      schema: {
        tags: ['profiles'],
        summary: 'Update the background profile (JSON, form or multipart)',
        querystring: PartialQuery,
        response: { 200: BackgroundUpdateResponse, ...errorResponses },
      },
    },
    async (request) =>
      profiles.updateBackground(
        currentUser(request),
        await readBody(request),
        queryFlag(request.query.partial, true),
        requestOrigin(request),
      ),
  );

  app.get(
    '/api/profile/background/subscription-status/',
    { ...background, schema: { tags: ['profiles'], response: { 200: SubscriptionStatusSchema, ...errorResponses } } },
    async (request) => profiles.backgroundSubscriptionStatus(currentUser(request)),
  );

  app.get(
    '/api/profile/background/restrictions/',
    { ...background, schema: { tags: ['profiles'], response: { 200: BackgroundRestrictionsSchema, ...errorResponses } } },
    async (request) => profiles.backgroundRestrictions(currentUser(request)),
  );

  app.get(
    '/api/profile/talent/',
    {
      ...talent,
      schema: { tags: ['profiles'], summary: 'Talent profile, score, subscription and restrictions', response: { 200: TalentProfileResponse, ...errorResponses } },
    },
    async (request) => profiles.talent(currentUser(request), requestOrigin(request)),
  );

  app.post(
    '/api/profile/talent/',
    {
      ...talent,
      schema: {
        tags: ['profiles'],
        summary: 'Update the talent profile (JSON, form or multipart)',
        querystring: PartialQuery,
        response: { 200: TalentUpdateResponse, ...errorResponses },
      },
    },
    async (request) =>
      profiles.updateTalent(
        currentUser(request),
        await readBody(request),
        queryFlag(request.query.partial, true),
        requestOrigin(request),
      ),
  );
};
