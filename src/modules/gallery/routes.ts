import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { notFound } from '../../errors.js';
import { withForm, type FileFieldLimit } from '../../http/multipart.js';
import { mediaUrlsFor, type PublicUrl } from '../../http/request.js';
import type { AccountGuards } from '../accounts/guards.js';
import { DetailError, FieldErrors } from '../common.js';
import { MEDIA_FIELD, parseGalleryForm } from './input.js';
import { GalleryCreated, GalleryUploadBody, MediaIdParams } from './schemas.js';
import type { GalleryService } from './service.js';
import { galleryItemView } from './view.js';

export interface GalleryRoutesOptions {
  gallery: GalleryService;
  guards: AccountGuards;
  publicUrl: PublicUrl;
  fileLimits: { image_max_mb: number; video_max_mb: number };
  upload: { media: FileFieldLimit; tmpDir: string };
  assertUploadCapacity: () => void;
}

const errors = {
  400: { anyOf: [FieldErrors, DetailError] },
  401: DetailError,
  403: DetailError,
  404: DetailError,
  413: FieldErrors,
  503: DetailError,
};

/** Gallery ids are positive integers; anything else names no item. */
function mediaId(raw: string): number {
  if (!/^\d{1,15}$/.test(raw)) throw notFound('No TalentMedia matches the given query.');
  return Number(raw);
}

/**
 * The live service's talent media endpoints (POST /api/profile/talent/media/, DELETE
 * /api/media/<id>/delete/), the same gallery for background users, and the DELETE paths the live
 * web app tries first (/api/profile/<kind>/media/<id>/).
 */
export const galleryRoutes: FastifyPluginAsyncTypebox<GalleryRoutesOptions> = async (app, options) => {
  const { gallery, guards } = options;
  const formOptions = { fileFields: { [MEDIA_FIELD]: options.upload.media }, tmpDir: options.upload.tmpDir };
  const capacity = async (request: { isMultipart(): boolean }) => {
    if (request.isMultipart()) options.assertUploadCapacity();
  };

  for (const kind of ['talent', 'background'] as const) {
    app.post(
      `/api/profile/${kind}/media/`,
      {
        onRequest: guards.requireRole(kind),
        preHandler: capacity,
        config: { docs: { body: GalleryUploadBody, consumes: ['multipart/form-data'] }, rateLimit: ['upload'] },
        schema: { tags: ['gallery'], summary: `Add a photo to the ${kind} gallery`, response: { 201: GalleryCreated, ...errors } },
      },
      async (request, reply) => {
        const user = guards.user(request);
        const row = await withForm(request, formOptions, (form) => gallery.add(kind, user, parseGalleryForm(form)));
        request.log.info({ userId: user.id, mediaId: row.id, kind }, 'gallery item added');
        return reply.code(201).send({ ...galleryItemView(row, mediaUrlsFor(request, options.publicUrl)), file_limits: options.fileLimits });
      },
    );

    app.delete(
      `/api/profile/${kind}/media/:id/`,
      {
        onRequest: guards.requireRole(kind),
        schema: {
          tags: ['gallery'],
          summary: `Delete an item of the ${kind} gallery`,
          params: MediaIdParams,
          response: { 204: { type: 'null' }, ...errors },
        },
      },
      async (request, reply) => {
        await gallery.remove(guards.user(request), mediaId(request.params.id));
        return reply.code(204).send(null);
      },
    );
  }

  app.delete(
    '/api/media/:id/delete/',
    {
      onRequest: guards.authenticate,
      schema: {
        tags: ['gallery'],
        summary: 'Delete one of your gallery items (the live service’s path)',
        params: MediaIdParams,
        response: { 204: { type: 'null' }, ...errors },
      },
    },
    async (request, reply) => {
      await gallery.remove(guards.user(request), mediaId(request.params.id));
      return reply.code(204).send(null);
    },
  );
};
