import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Guards } from '../../auth/guard.js';
import { currentUser } from '../../auth/guard.js';
import { queryFlag, requestOrigin } from '../../http/form.js';
import { withForm, type FileFieldLimit, type FormOptions } from '../../http/multipart.js';
import { DetailError, FieldErrors } from '../common.js';
import {
  BackgroundProfileResponse,
  BackgroundRestrictionsSchema,
  BackgroundUpdateBody,
  BackgroundUpdateResponse,
  PROFILE_CONSUMES,
  TalentUpdateBody,
  PartialQuery,
  SubscriptionStatusSchema,
  TalentProfileResponse,
  TalentUpdateResponse,
} from './schemas.js';
import { PICTURE_FIELD, type ProfileService } from './service.js';

export interface ProfileRoutesOptions {
  profiles: ProfileService;
  guards: Guards;
  /** The picture's size limit and the temporary folder uploads stream to. */
  upload: { picture: FileFieldLimit; tmpDir: string };
  /** Refuses an upload before its body is read when image processing is saturated. */
  assertUploadCapacity: () => void;
}

const errorResponses = { 400: FieldErrors, 401: DetailError, 403: DetailError, 413: FieldErrors, 503: DetailError };

export const profileRoutes: FastifyPluginAsyncTypebox<ProfileRoutesOptions> = async (app, options) => {
  const { profiles, guards, assertUploadCapacity } = options;
  const formOptions: FormOptions = { fileFields: { [PICTURE_FIELD]: options.upload.picture }, tmpDir: options.upload.tmpDir };
  const background = { onRequest: guards.requireRole('background') };
  const talent = { onRequest: guards.requireRole('talent') };
  const checkCapacity = async (request: { isMultipart(): boolean }) => {
    if (request.isMultipart()) assertUploadCapacity();
  };

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
      preHandler: checkCapacity,
      config: { docs: { body: BackgroundUpdateBody, consumes: PROFILE_CONSUMES }, rateLimit: ['upload'] },
      schema: {
        tags: ['profiles'],
        summary: 'Update the background profile and/or its picture (JSON, form or multipart)',
        querystring: PartialQuery,
        response: { 200: BackgroundUpdateResponse, ...errorResponses },
      },
    },
    async (request) =>
      withForm(request, formOptions, (form) =>
        profiles.updateBackground(currentUser(request), form, queryFlag(request.query.partial, true), requestOrigin(request), request.log),
      ),
  );

  app.delete(
    '/api/profile/background/',
    { ...background, schema: { tags: ['profiles'], summary: 'Remove the background profile picture', response: { 200: BackgroundUpdateResponse, ...errorResponses } } },
    async (request) => profiles.removeBackgroundPicture(currentUser(request), requestOrigin(request), request.log),
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
      preHandler: checkCapacity,
      config: { docs: { body: TalentUpdateBody, consumes: PROFILE_CONSUMES }, rateLimit: ['upload'] },
      schema: {
        tags: ['profiles'],
        summary: 'Update the talent profile and/or its picture (JSON, form or multipart)',
        querystring: PartialQuery,
        response: { 200: TalentUpdateResponse, ...errorResponses },
      },
    },
    async (request) =>
      withForm(request, formOptions, (form) =>
        profiles.updateTalent(currentUser(request), form, queryFlag(request.query.partial, true), requestOrigin(request), request.log),
      ),
  );

  app.delete(
    '/api/profile/talent/',
    { ...talent, schema: { tags: ['profiles'], summary: 'Remove the talent profile picture', response: { 200: TalentUpdateResponse, ...errorResponses } } },
    async (request) => profiles.removeTalentPicture(currentUser(request), requestOrigin(request), request.log),
  );
};
