import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { onRequestAsyncHookHandler } from 'fastify';
import { currentUser, type Guards } from '../../auth/guard.js';
import { notFound } from '../../errors.js';
import { requestOrigin } from '../../http/form.js';
import { withForm, type FileFieldLimit, type FormOptions } from '../../http/multipart.js';
import { DetailError, FieldErrors } from '../common.js';
import { ITEM_CONSUMES, ItemCreateBody, ItemListResponse, ItemParams, ItemUpdateBody, ItemView, ListQuery, SubscriptionRequired } from './schemas.js';
import type { ItemService } from './service.js';

export interface ItemRoutesOptions {
  items: ItemService;
  guards: Guards;
  upload: { image: FileFieldLimit; certificate: FileFieldLimit; tmpDir: string };
  assertUploadCapacity: () => void;
}

const BASE = '/api/profile/background/items/';
const errors = { 400: FieldErrors, 401: DetailError, 403: Type403(), 404: DetailError, 413: FieldErrors, 503: DetailError };

function Type403() {
  return { anyOf: [DetailError, SubscriptionRequired] };
}

/** Ids are positive integers; anything else names no item. */
function itemId(raw: string): number {
  if (!/^\d{1,15}$/.test(raw)) throw notFound();
  return Number(raw);
}

export const itemRoutes: FastifyPluginAsyncTypebox<ItemRoutesOptions> = async (app, options) => {
  const { items, guards } = options;
  const background = guards.requireRole('background');
  // Creating and editing need the subscription; checked before any body is read.
  const subscribed: onRequestAsyncHookHandler = async (request) => {
    await items.assertCanEdit(currentUser(request));
  };
  const capacity = async (request: { isMultipart(): boolean }) => {
    if (request.isMultipart()) options.assertUploadCapacity();
  };
  const formOptions: FormOptions = {
    fileFields: { image: options.upload.image, authenticity_certificate: options.upload.certificate },
    tmpDir: options.upload.tmpDir,
  };

  app.get(
    BASE,
    {
      onRequest: background,
      schema: { tags: ['items'], summary: "The user's items, grouped by type or of one type, paginated", querystring: ListQuery, response: { 200: ItemListResponse, ...errors } },
    },
    async (request) => items.list(currentUser(request), request.query, requestOrigin(request), BASE),
  );

  app.post(
    BASE,
    {
      onRequest: [background, subscribed],
      preHandler: capacity,
      config: { docs: { body: ItemCreateBody, consumes: ITEM_CONSUMES }, rateLimit: ['upload'] },
      schema: { tags: ['items'], summary: 'Create an item (JSON or multipart with image / authenticity_certificate)', response: { 201: ItemView, ...errors } },
    },
    async (request, reply) => {
      const item = await withForm(request, formOptions, (form) => items.create(currentUser(request), form, requestOrigin(request), request.log));
      return reply.code(201).send(item);
    },
  );

  const one = `${BASE}:item_type/:id/`;

  app.get(
    one,
    { onRequest: background, schema: { tags: ['items'], summary: 'One item', params: ItemParams, response: { 200: ItemView, ...errors } } },
    async (request) => items.get(currentUser(request), request.params.item_type, itemId(request.params.id), requestOrigin(request)),
  );

  app.patch(
    one,
    {
      onRequest: [background, subscribed],
      preHandler: capacity,
      config: { docs: { body: ItemUpdateBody, consumes: ITEM_CONSUMES }, rateLimit: ['upload'] },
      schema: { tags: ['items'], summary: 'Change an item; a new image or certificate replaces the old one', params: ItemParams, response: { 200: ItemView, ...errors } },
    },
    async (request) =>
      withForm(request, formOptions, (form) =>
        items.update(currentUser(request), request.params.item_type, itemId(request.params.id), form, requestOrigin(request), request.log),
      ),
  );

  app.delete(
    one,
    { onRequest: background, schema: { tags: ['items'], summary: 'Delete an item and its files', params: ItemParams, response: { 204: { type: 'null' }, ...errors } } },
    async (request, reply) => {
      await items.delete(currentUser(request), request.params.item_type, itemId(request.params.id), request.log);
      return reply.code(204).send(null);
    },
  );
};
