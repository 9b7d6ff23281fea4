import { Type, type TSchema } from 'typebox';
import { PictureInfo } from '../media/pictures.js';
import { ITEM_TYPES, TYPE_FIELDS, COMMON_FIELDS, type ItemType } from './catalogue.js';

const commonView = {
  id: Type.Integer(),
  item_type: Type.String(),
  ...Object.fromEntries(Object.entries(COMMON_FIELDS).map(([name, spec]) => [name, spec.schema])),
  /** Additive: the photo's size, placeholder and responsive variants. */
  image_info: PictureInfo,
  created_at: Type.String({ format: 'date-time' }),
  updated_at: Type.String({ format: 'date-time' }),
};

/** The item as each type shows it: the common fields plus that type's own. */
const ITEM_VIEWS: Record<ItemType, TSchema> = Object.fromEntries(
  ITEM_TYPES.map((type) => [
    type,
    Type.Object({
      ...commonView,
      // A literal per type: the serialiser picks the right branch of the union below by it.
      item_type: Type.Literal(type),
      ...Object.fromEntries(Object.entries(TYPE_FIELDS[type]).map(([name, spec]) => [name, spec.schema])),
    }),
  ]),
) as unknown as Record<ItemType, TSchema>;

/** Any item: the union keeps every type's own fields when the response is serialised. */
export const ItemView = Type.Unsafe<Record<string, unknown>>(Type.Union(ITEM_TYPES.map((type) => ITEM_VIEWS[type])));

const ShortSubscriptionStatus = Type.Object({
  has_subscription: Type.Boolean(),
  can_access_features: Type.Boolean(),
  message: Type.String(),
});

const paging = {
  subscription_status: ShortSubscriptionStatus,
  total_items: Type.Integer(),
  page: Type.Integer(),
  page_size: Type.Integer(),
  total_pages: Type.Integer(),
  next: Type.Union([Type.String(), Type.Null()]),
  previous: Type.Union([Type.String(), Type.Null()]),
};

export const ItemListResponse = Type.Unsafe<Record<string, unknown>>(
  Type.Union([
    Type.Object({ items: Type.Array(ItemView), item_type: Type.String(), ...paging }),
    Type.Object({ items: Type.Object(Object.fromEntries(ITEM_TYPES.map((type) => [type, Type.Array(ITEM_VIEWS[type])]))), ...paging }),
  ]),
);

export const ListQuery = Type.Object({
  item_type: Type.Optional(Type.String({ maxLength: 64 })),
  page: Type.Optional(Type.String({ maxLength: 20 })),
  page_size: Type.Optional(Type.String({ maxLength: 20 })),
});

export const ItemParams = Type.Object({ item_type: Type.String({ maxLength: 64 }), id: Type.String({ maxLength: 20 }) });

export const SubscriptionRequired = Type.Object({
  error: Type.String(),
  message: Type.String(),
  restrictions: Type.Record(Type.String(), Type.Unknown()),
});

const FILE_DOCS: Record<string, { title: string; description: string }> = {
  image: { title: 'Photo', description: 'Photo (multipart file)' },
  authenticity_certificate: { title: 'Authenticity certificate (PDF or image)', description: 'PDF or image (multipart file)' },
};
const fileDoc = (name: string) => Type.String({ format: 'binary', ...(FILE_DOCS[name] ?? { description: 'A file (multipart)' }) });

/** What POST and PATCH accept, per type (documentation; the service validates). */
function itemBody(type: ItemType, partial: boolean) {
  const fields = { ...COMMON_FIELDS, ...TYPE_FIELDS[type] };
  const properties = Object.fromEntries(
    Object.entries(fields).map(([name, spec]) => [name, spec.kind === 'file' ? fileDoc(name) : spec.schema]),
  );
  const body = Type.Object({ item_type: Type.Literal(type), ...properties });
  return partial ? Type.Partial(body) : body;
}

export const ItemCreateBody = Type.Union(ITEM_TYPES.map((type) => itemBody(type, false)));
export const ItemUpdateBody = Type.Union(ITEM_TYPES.map((type) => itemBody(type, true)));
export const ITEM_CONSUMES = ['application/json', 'multipart/form-data'];
