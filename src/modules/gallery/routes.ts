import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { TSchema } from 'typebox';
import { notFound } from '../../errors.js';
import { rowIdOf } from '../../validation.js';
import { withForm, type FileField, type UploadMemory } from '../../http/multipart.js';
import { mediaUrlsFor, type PublicUrl } from '../../http/request.js';
import type { AccountGuards } from '../accounts/guards.js';
import { DetailError, FieldErrors } from '../common.js';
import { MEDIA_FIELD, parseGalleryForm, parseGalleryPatch, parseReorder } from './input.js';
import {
  GalleryCreated,
  GalleryItem,
  GalleryList,
  GalleryPatchBody,
  GalleryUploadBody,
  MediaIdParams,
  Portfolio,
  ReorderBody,
  UserIdParams,
} from './schemas.js';
import { NOT_FOUND_MESSAGE, type GalleryService } from './service.js';
import { galleryItemView } from './view.js';

export interface GalleryRoutesOptions {
  gallery: GalleryService;
  guards: AccountGuards;
  publicUrl: PublicUrl;
  clock: () => Date;
  fileLimits: { image_max_mb: number; video_max_mb: number };
  upload: { media: FileField; tmpDir: string; memory?: UploadMemory };
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

/** Ids are positive integers; anything else names no item. */
function numericId(raw: string, message = NOT_FOUND_MESSAGE): number {
  const id = rowIdOf(raw);
  if (id === undefined) throw notFound(message);
  return id;
}

const jsonDocs = (body: TSchema) => ({ docs: { body, consumes: ['application/json'] } });

/**
 * The live service's talent media endpoints (POST /api/profile/talent/media/, DELETE
 * /api/media/<id>/delete/), the same gallery for background users, the DELETE paths the live web
 * app tries first (/api/profile/<kind>/media/<id>/), and castfolio's casting additions: list,
 * edit (slot, tags, visibility, position), reorder, promote to headshot, and a user's public portfolio.
 */
export const galleryRoutes: FastifyPluginAsyncTypebox<GalleryRoutesOptions> = async (app, options) => {
  const { gallery, guards, clock } = options;
  const formOptions = { fileFields: { [MEDIA_FIELD]: options.upload.media }, tmpDir: options.upload.tmpDir, memory: options.upload.memory };
  const capacity = async (request: { isMultipart(): boolean }) => {
    if (request.isMultipart()) options.assertUploadCapacity();
  };

  /** Deletes one of the caller's items: the same for the kind's path and the live service's. */
  function deleteRoute(url: string, onRequest: typeof guards.authenticate, summary: string) {
    app.delete(
      url,
      { onRequest, schema: { tags: ['gallery'], summary, params: MediaIdParams, response: { 204: { type: 'null' }, ...errors } } },
      async (request, reply) => {
        await gallery.remove(guards.user(request), numericId(request.params.id));
        return reply.code(204).send(null);
      },
    );
  }

  for (const kind of ['talent', 'background'] as const) {
    const base = `/api/profile/${kind}/media/`;
    const owner = guards.requireRole(kind);

    app.get(
      base,
      {
        onRequest: owner,
        schema: { tags: ['gallery'], summary: `The ${kind} gallery, in order`, response: { 200: GalleryList, ...errors } },
      },
      async (request) => {
        const urlFor = mediaUrlsFor(request, options.publicUrl);
        const now = clock();
        return (await gallery.list(kind, guards.user(request))).map((row) => galleryItemView(row, urlFor, now));
      },
    );

    app.post(
      base,
      {
        onRequest: owner,
        preHandler: capacity,
        config: { docs: { body: GalleryUploadBody, consumes: ['multipart/form-data'] }, rateLimit: ['upload'] },
        schema: { tags: ['gallery'], summary: `Add a photo or video to the ${kind} gallery`, response: { 201: GalleryCreated, ...errors } },
      },
      async (request, reply) => {
        const user = guards.user(request);
        const row = await withForm(request, formOptions, (form) => gallery.add(kind, user, parseGalleryForm(form)));
        request.log.info({ userId: user.id, mediaId: row.id, kind, mediaType: row.media_type }, 'gallery item added');
        const view = galleryItemView(row, mediaUrlsFor(request, options.publicUrl), clock());
        return reply.code(201).send({ ...view, file_limits: options.fileLimits });
      },
    );

    app.post(
      `${base}reorder/`,
      {
        onRequest: owner,
        config: jsonDocs(ReorderBody),
        schema: { tags: ['gallery'], summary: `Put the whole ${kind} gallery in a new order`, response: { 200: GalleryList, ...errors } },
      },
      async (request) => {
        const urlFor = mediaUrlsFor(request, options.publicUrl);
        const rows = await gallery.reorder(kind, guards.user(request), parseReorder(request.body));
        const now = clock();
        return rows.map((row) => galleryItemView(row, urlFor, now));
      },
    );

    app.patch(
      `${base}:id/`,
      {
        onRequest: owner,
        config: jsonDocs(GalleryPatchBody),
        schema: {
          tags: ['gallery'],
          summary: `Edit an item of the ${kind} gallery: name, media_info, slot, tags, visibility, position`,
          params: MediaIdParams,
          response: { 200: GalleryItem, ...errors },
        },
      },
      async (request) => {
        const row = await gallery.update(kind, guards.user(request), numericId(request.params.id), parseGalleryPatch(request.body));
        return galleryItemView(row, mediaUrlsFor(request, options.publicUrl), clock());
      },
    );

    app.post(
      `${base}:id/promote/`,
      {
        onRequest: owner,
        schema: {
          tags: ['gallery'],
          summary: 'Make this photo the profile picture and the headshot (one transaction)',
          params: MediaIdParams,
          response: { 200: GalleryItem, ...errors },
        },
      },
      async (request) => {
        const row = await gallery.promote(kind, guards.user(request), numericId(request.params.id));
        return galleryItemView(row, mediaUrlsFor(request, options.publicUrl), clock());
      },
    );

    deleteRoute(`${base}:id/`, owner, `Delete an item of the ${kind} gallery`);
  }
  deleteRoute('/api/media/:id/delete/', guards.authenticate, 'Delete one of your gallery items (the live service’s path)');

  app.get(
    '/api/portfolio/:userId/',
    {
      onRequest: guards.authenticate,
      schema: {
        tags: ['gallery'],
        summary: 'A performer’s public gallery (any signed-in user), in their order',
        params: UserIdParams,
        response: { 200: Portfolio, ...errors },
      },
    },
    async (request) => {
      const userId = numericId(request.params.userId, 'Not found.');
      const urlFor = mediaUrlsFor(request, options.publicUrl);
      const now = clock();
      return { user_id: userId, media: (await gallery.listPublic(userId)).map((row) => galleryItemView(row, urlFor, now)) };
    },
  );
};
