import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { onRequestAsyncHookHandler } from 'fastify';
import { notFound } from '../../errors.js';
import { rowIdOf } from '../../validation.js';
import { withForm, type FileField, type FormOptions, type UploadMemory } from '../../http/multipart.js';
import { mediaUrlsFor, requestOrigin, type PublicUrl } from '../../http/request.js';
import type { AccountGuards } from '../accounts/guards.js';
import { DetailError, FieldErrors } from '../common.js';
import { itemType, parseItemChange, parseListQuery, parseNewItem } from './input.js';
import {
  ITEM_CONSUMES,
  ItemCreateBody,
  ItemListResponse,
  ItemParams,
  ItemUpdateBody,
  ItemView,
  ListQuery,
  SubscriptionRequired,
} from './schemas.js';
import type { ItemService } from './service.js';
import { itemListView, itemView } from './view.js';

export interface ItemRoutesOptions {
  items: ItemService;
  guards: AccountGuards;
  publicUrl: PublicUrl;
  upload: { image: FileField; certificate: FileField; tmpDir: string; memory?: UploadMemory };
  assertUploadCapacity: () => void;
}

const BASE = '/api/profile/background/items/';
const errors = {
  400: FieldErrors,
  401: DetailError,
  403: { anyOf: [DetailError, SubscriptionRequired] },
  404: DetailError,
  413: FieldErrors,
  503: DetailError,
};

/** The item a URL names: an id that is not a positive integer names none (404), then the type is checked (400). */
function target(params: { item_type: string; id: string }) {
  const id = rowIdOf(params.id);
  if (id === undefined) throw notFound();
  return { type: itemType(params.item_type), id };
}

export const itemRoutes: FastifyPluginAsyncTypebox<ItemRoutesOptions> = async (app, options) => {
  const { items, guards, publicUrl } = options;
  const background = guards.requireRole('background');
  // Creating and editing need the subscription; checked before any body is read.
  const subscribed: onRequestAsyncHookHandler = async (request) => {
    await items.assertCanEdit(guards.user(request));
  };
  const capacity = async (request: { isMultipart(): boolean }) => {
    if (request.isMultipart()) options.assertUploadCapacity();
  };
  const formOptions: FormOptions = {
    fileFields: { image: options.upload.image, authenticity_certificate: options.upload.certificate },
    tmpDir: options.upload.tmpDir,
    memory: options.upload.memory,
  };

  app.get(
    BASE,
    {
      onRequest: background,
      schema: {
        tags: ['items'],
        summary: "The user's items, grouped by type or of one type, paginated",
        querystring: ListQuery,
        response: { 200: ItemListResponse, ...errors },
      },
    },
    async (request) => {
      const query = parseListQuery(request.query);
      const page = await items.list(guards.user(request), query);
      return itemListView(page, query, mediaUrlsFor(request, publicUrl), `${requestOrigin(request)}${BASE}`);
    },
  );

  app.post(
    BASE,
    {
      onRequest: [background, subscribed],
      preHandler: capacity,
      config: { docs: { body: ItemCreateBody, consumes: ITEM_CONSUMES }, rateLimit: ['upload'] },
      schema: {
        tags: ['items'],
        summary: 'Create an item (JSON or multipart with image / authenticity_certificate)',
        response: { 201: ItemView, ...errors },
      },
    },
    async (request, reply) => {
      const user = guards.user(request);
      const row = await withForm(request, formOptions, (form) => items.create(user, parseNewItem(form)));
      request.log.info({ userId: user.id, itemId: row.id, itemType: row.item_type }, 'item created');
      return reply.code(201).send(itemView(row, mediaUrlsFor(request, publicUrl)));
    },
  );

  const one = `${BASE}:item_type/:id/`;

  app.get(
    one,
    { onRequest: background, schema: { tags: ['items'], summary: 'One item', params: ItemParams, response: { 200: ItemView, ...errors } } },
    async (request) => {
      const { type, id } = target(request.params);
      return itemView(await items.get(guards.user(request), type, id), mediaUrlsFor(request, publicUrl));
    },
  );

  app.patch(
    one,
    {
      onRequest: [background, subscribed],
      preHandler: capacity,
      config: { docs: { body: ItemUpdateBody, consumes: ITEM_CONSUMES }, rateLimit: ['upload'] },
      schema: {
        tags: ['items'],
        summary: 'Change an item; a new image or certificate replaces the old one',
        params: ItemParams,
        response: { 200: ItemView, ...errors },
      },
    },
    async (request) => {
      const user = guards.user(request);
      const { type, id } = target(request.params);
      const { row, replaced } = await withForm(request, formOptions, (form) => items.update(user, id, parseItemChange(type, form)));
      request.log.info({ userId: user.id, itemId: id, itemType: type, replaced }, 'item updated');
      return itemView(row, mediaUrlsFor(request, publicUrl));
    },
  );

  app.delete(
    one,
    {
      onRequest: background,
      schema: {
        tags: ['items'],
        summary: 'Delete an item and its files',
        params: ItemParams,
        response: { 204: { type: 'null' }, ...errors },
      },
    },
    async (request, reply) => {
      const user = guards.user(request);
      const { type, id } = target(request.params);
      const deleted = await items.delete(user, type, id);
      request.log.info({ userId: user.id, itemId: id, itemType: type, deleted }, 'item deleted');
      return reply.code(204).send(null);
    },
  );
};
