import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import fastJson from 'fast-json-stringify';
import type { FastifyBaseLogger, FastifyRequest } from 'fastify';
import type { Role } from '../../auth/roles.js';
import { withForm, type FileField, type FormOptions, type UploadMemory } from '../../http/multipart.js';
import { mediaUrlsFor, queryFlag, type PublicUrl } from '../../http/request.js';
import type { AccountGuards } from '../accounts/guards.js';
import { DetailError, FieldErrors } from '../common.js';
import { parseProfileForm, PICTURE_FIELD } from './input.js';
import {
  BackgroundProfileResponse,
  BackgroundRestrictionsSchema,
  BackgroundUpdateBody,
  BackgroundUpdateResponse,
  PartialQuery,
  PictureFocusBody,
  PROFILE_CONSUMES,
  SubscriptionStatusSchema,
  TalentProfileResponse,
  TalentUpdateBody,
  TalentUpdateResponse,
  UploadLimits,
} from './schemas.js';
import { Type, type TObject, type TSchema } from 'typebox';
import { galleryJson } from '../gallery/view.js';
import { pictureInfoJson } from '../media/pictures.js';
import type { PictureOutcome, ProfileService } from './service.js';
import { backgroundProfileView, profileFields, talentProfileView, type FileLimits, type MediaViews, type UrlFor } from './view.js';

export interface ProfileRoutesOptions {
  profiles: ProfileService;
  guards: AccountGuards;
  clock: () => Date;
  publicUrl: PublicUrl;
  fileLimits: FileLimits;
  /** What GET /api/upload-limits/ tells clients (the web page shrinks photos to image_max_dimension). */
  uploadLimits: FileLimits & { image_max_dimension: number };
  /** The picture's size limit and the temporary folder uploads stream to. */
  upload: { picture: FileField; tmpDir: string; memory?: UploadMemory };
  /** Refuses an upload before its body is read when image processing is saturated. */
  assertUploadCapacity: () => void;
}

const errorResponses = { 400: FieldErrors, 401: DetailError, 403: DetailError, 413: FieldErrors, 503: DetailError };

/** The two profile endpoints: the same routes, each with its own shapes and words. */
const KINDS = {
  background: {
    readSummary: 'Background profile, score, subscription and restrictions',
    readResponse: BackgroundProfileResponse,
    updateBody: BackgroundUpdateBody,
    updateResponse: BackgroundUpdateResponse,
    updated: 'Background profile updated successfully',
  },
  talent: {
    readSummary: 'Talent profile, score, subscription and restrictions',
    readResponse: TalentProfileResponse,
    updateBody: TalentUpdateBody,
    updateResponse: TalentUpdateResponse,
    updated: 'Profile updated successfully',
  },
} as const;

function logPicture(log: FastifyBaseLogger, userId: number, picture: PictureOutcome, cleared: boolean): void {
  if (picture.stored) log.info({ userId, oldKey: picture.replaced, newKey: picture.stored }, 'profile picture replaced');
  else if (cleared) log.info({ userId, oldKey: picture.replaced, newKey: null }, 'profile picture removed');
}

const NO_MEDIA: MediaViews = () => [];
const sendAsIs = (payload: unknown) => payload as string;
const CLOSE_OBJECT = Buffer.from('}');
const OPEN_OBJECT = Buffer.from('{');
const COMMA = Buffer.from(',');
const INFO_FIRST = Buffer.from('{"profile_picture_info":');

export const profileRoutes: FastifyPluginAsyncTypebox<ProfileRoutesOptions> = async (app, options) => {
  const { profiles, guards, assertUploadCapacity, fileLimits } = options;
  const formOptions: FormOptions = {
    fileFields: { [PICTURE_FIELD]: options.upload.picture },
    tmpDir: options.upload.tmpDir,
    memory: options.upload.memory,
  };
  const checkCapacity = async (request: { isMultipart(): boolean }) => {
    if (request.isMultipart()) assertUploadCapacity();
  };
  const urls = (request: FastifyRequest): UrlFor => mediaUrlsFor(request, options.publicUrl);

  app.get(
    '/api/upload-limits/',
    {
      schema: {
        tags: ['profiles'],
        summary: 'Upload limits: file sizes, and the long edge pictures are stored at (clients may shrink photos to it before sending)',
        response: { 200: UploadLimits },
      },
    },
    async () => options.uploadLimits,
  );

  for (const kind of ['background', 'talent'] as const satisfies readonly Role[]) {
    const words = KINDS[kind];
    const path = `/api/profile/${kind}/`;
    const onRequest = guards.requireRole(kind);

    // A profile read is written in parts: the `profile` object and the rest through their schemas'
    // serializers, each without the parts that are kept as JSON bytes and spliced in — the picture's
    // description (pictureInfoJson: once per picture and URL base) and the gallery (galleryJson: once
    // per gallery version, URL base and day). The same JSON, with `profile` first.
    const properties = words.readResponse.properties as Record<string, TSchema> & { profile: TObject };
    const { media: _media, profile: profileSchema, profile_picture_info: _info, ...others } = properties;
    const { profile_picture_info: _nestedInfo, ...profileFieldsSchema } = profileSchema.properties;
    const serializeProfile = fastJson(Type.Object(profileFieldsSchema) as object);
    const serializeOthers = fastJson(Type.Object(others) as object);
    const infoAtTop = kind === 'talent';
    app.get(
      path,
      { onRequest, schema: { tags: ['profiles'], summary: words.readSummary, response: { 200: words.readResponse, ...errorResponses } } },
      async (request, reply) => {
        const profile = await profiles.read(kind, guards.user(request));
        const urlFor = urls(request);
        const view =
          profile.kind === 'talent'
            ? talentProfileView(profile, urlFor, fileLimits, NO_MEDIA)
            : backgroundProfileView(profile, urlFor, NO_MEDIA);
        const info = pictureInfoJson(view.profile.profile_picture_info);
        const fields = serializeProfile(view.profile);
        const rest = serializeOthers(view);
        const body = Buffer.concat([
          ...(infoAtTop ? [INFO_FIRST, info, COMMA] : [OPEN_OBJECT]),
          Buffer.from(`"profile":${fields.slice(0, -1)},"profile_picture_info":`),
          info,
          Buffer.from(rest === '{}' ? '},"media":' : `},${rest.slice(1, -1)},"media":`),
          galleryJson(profile.media, urlFor, profile.asOf),
          CLOSE_OBJECT,
        ]);
        return reply
          .type('application/json; charset=utf-8')
          .serializer(sendAsIs)
          .send(body as never);
      },
    );

    app.post(
      path,
      {
        onRequest,
        preHandler: checkCapacity,
        config: { docs: { body: words.updateBody, consumes: PROFILE_CONSUMES }, rateLimit: ['upload'] },
        schema: {
          tags: ['profiles'],
          summary: `Update the ${kind} profile and/or its picture (JSON, form or multipart)`,
          querystring: PartialQuery,
          response: { 200: words.updateResponse, ...errorResponses },
        },
      },
      async (request) => {
        const user = guards.user(request);
        const { profile, picture, cleared } = await withForm(request, formOptions, async (form) => {
          const change = parseProfileForm(kind, form, queryFlag(request.query.partial, true), options.clock());
          return { ...(await profiles.update(kind, user, change)), cleared: change.picture.kind === 'clear' };
        });
        logPicture(request.log, user.id, picture, cleared);
        return { message: words.updated, profile: profileFields(profile, urls(request)) };
      },
    );

    app.delete(
      path,
      {
        onRequest,
        schema: {
          tags: ['profiles'],
          summary: `Remove the ${kind} profile picture`,
          response: { 200: words.updateResponse, ...errorResponses },
        },
      },
      async (request) => {
        const user = guards.user(request);
        const { profile, picture } = await profiles.removePicture(kind, user);
        logPicture(request.log, user.id, picture, true);
        return { message: 'Profile picture removed', profile: profileFields(profile, urls(request)) };
      },
    );
  }

  const focusPath = (kind: Role) => `/api/profile/${kind}/picture-focus/`;
  for (const kind of ['background', 'talent'] as const satisfies readonly Role[]) {
    const words = KINDS[kind];
    const onRequest = guards.requireRole(kind);
    app.put(
      focusPath(kind),
      {
        onRequest,
        config: { rateLimit: ['upload'] },
        schema: {
          tags: ['profiles'],
          summary: `Frame the ${kind} picture's avatar and card variants around a point or a rectangle of the picture`,
          description:
            'Coordinates are in the picture’s own pixels (`profile_picture_info.width` × `height`); width and height 0 (or left out) give a point, ' +
            'the centre of the largest frame. The variants are made again from the stored picture under new URLs and `focus.source` becomes `user`; ' +
            'the picture itself and its URL do not change.',
          body: PictureFocusBody,
          response: { 200: words.updateResponse, 409: DetailError, ...errorResponses },
        },
      },
      async (request) => {
        const { x, y, width = 0, height = 0 } = request.body;
        const profile = await profiles.reframe(kind, guards.user(request), { x, y, width, height });
        return { message: 'Profile picture framed', profile: profileFields(profile, urls(request)) };
      },
    );
    app.delete(
      focusPath(kind),
      {
        onRequest,
        config: { rateLimit: ['upload'] },
        schema: {
          tags: ['profiles'],
          summary: `Frame the ${kind} picture's variants around its face again (undoes a focus set with PUT)`,
          response: { 200: words.updateResponse, 409: DetailError, ...errorResponses },
        },
      },
      async (request) => {
        const profile = await profiles.reframe(kind, guards.user(request), null);
        return { message: 'Profile picture framed', profile: profileFields(profile, urls(request)) };
      },
    );
  }

  const background = { onRequest: guards.requireRole('background') };

  app.get(
    '/api/profile/background/subscription-status/',
    { ...background, schema: { tags: ['profiles'], response: { 200: SubscriptionStatusSchema, ...errorResponses } } },
    async (request) => profiles.backgroundSubscriptionStatus(guards.user(request)),
  );

  app.get(
    '/api/profile/background/restrictions/',
    { ...background, schema: { tags: ['profiles'], response: { 200: BackgroundRestrictionsSchema, ...errorResponses } } },
    async (request) => profiles.backgroundRestrictions(guards.user(request)),
  );
};
