import { pictureInfoView } from '../media/pictures.js';
import type { SubscriptionStatus } from '../subscriptions/service.js';
import { ITEM_TYPES, TYPE_FIELDS, type ItemType } from './catalogue.js';
import type { ItemListQuery } from './input.js';
import type { ItemRow } from './repository.js';
import type { ItemPage } from './service.js';

type UrlFor = (name: string) => string;

function formatPrice(cents: number | null): string | null {
  if (cents === null) return null;
  return `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`;
}

/** An item as clients read it: the common fields, its type's own fields, then the dates. */
export function itemView(row: ItemRow, urlFor: UrlFor): Record<string, unknown> {
  const type = row.item_type as ItemType;
  const url = (name: string | null) => (name ? urlFor(name) : null);
  const view: Record<string, unknown> = {
    id: row.id,
    item_type: type,
    name: row.name,
    description: row.description,
    price: formatPrice(row.price_cents === null ? null : Number(row.price_cents)),
    genre: row.genre,
    is_for_rent: Boolean(row.is_for_rent),
    is_for_sale: Boolean(row.is_for_sale),
    image: url(row.image),
    // Additive: the photo's size, placeholder and responsive variants.
    image_info: row.image ? pictureInfoView(row.picture, urlFor) : null,
  };
  for (const [name, spec] of Object.entries(TYPE_FIELDS[type] ?? {})) {
    const value = row[spec.column];
    view[name] = spec.kind === 'file' ? url(value as string | null) : spec.kind === 'boolean' ? Boolean(value) : value;
  }
  view.created_at = row.created_at;
  view.updated_at = row.updated_at;
  return view;
}

/** The link to another page of the same listing, as DRF's pagination gives it (absolute). */
function pageLink(base: string, query: ItemListQuery, page: number): string {
  const params = new URLSearchParams();
  if (query.type) params.set('item_type', query.type);
  params.set('page', String(page));
  if (query.pageSizeGiven) params.set('page_size', String(query.pageSize));
  return `${base}?${params.toString()}`;
}

/** One page of items: of one type, or grouped by type; `base` is the listing's absolute URL. */
export function itemListView(result: ItemPage, query: ItemListQuery, urlFor: UrlFor, base: string) {
  const status: SubscriptionStatus = result.subscriptionStatus;
  const views = result.rows.map((row) => itemView(row, urlFor));
  const common = {
    subscription_status: {
      has_subscription: status.has_subscription,
      can_access_features: status.can_access_features,
      message: status.message,
    },
    total_items: result.total,
    page: query.page,
    page_size: query.pageSize,
    total_pages: result.totalPages,
    next: query.page < result.totalPages ? pageLink(base, query, query.page + 1) : null,
    previous: query.page > 1 ? pageLink(base, query, query.page - 1) : null,
  };
  if (query.type) return { items: views, item_type: query.type, ...common };
  const grouped = Object.fromEntries(ITEM_TYPES.map((t) => [t, [] as Record<string, unknown>[]]));
  for (const view of views) grouped[view.item_type as ItemType]?.push(view);
  return { items: grouped, ...common };
}
