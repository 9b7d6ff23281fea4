import { Picture, shrinkForUpload, type PictureInfo } from './pictures';
import { useEffect, useState } from 'preact/hooks';
import { api, errorText, fieldErrors, uploadWithProgress, type Reply } from './api';
import { ITEM_FIELDS } from './contract/constants';
import { Field, Notice } from './ui';

type Item = Reply<'/api/profile/background/items/{item_type}/{id}/'>;
type ItemList = Reply<'/api/profile/background/items/'>;
type ItemType = keyof typeof ITEM_FIELDS;
type FieldDef = (typeof ITEM_FIELDS)[ItemType][number];

/** A type's name as the page shows it: artistic_material -> "Artistic material". */
const typeLabel = (type: string) => type.charAt(0).toUpperCase() + type.slice(1).replace(/_/g, ' ');
const isItemType = (type: string): type is ItemType => Object.hasOwn(ITEM_FIELDS, type);

/** A field of an item as stored, read by name (each type has its own fields). */
const valueOf = (item: Item | undefined, name: string): unknown => (item as Record<string, unknown> | undefined)?.[name];
const textOf = (value: unknown) => (typeof value === 'string' || typeof value === 'number' ? String(value) : '');

/** The multipart body of an item form: checkboxes always sent, empty files left out, the photo shrunk first. */
async function itemForm(form: HTMLFormElement, fields: readonly FieldDef[]): Promise<FormData> {
  const body = new FormData();
  for (const field of fields) {
    const control = form.elements.namedItem(field.name) as HTMLInputElement | null;
    if (!control) continue;
    if (field.kind === 'checkbox') body.append(field.name, control.checked ? 'true' : 'false');
    else if (field.kind === 'file') {
      const file = control.files?.[0];
      // The certificate may be a PDF: only the photo is shrunk.
      if (file) body.append(field.name, field.name === 'image' ? await shrinkForUpload(file) : file);
    } else body.append(field.name, control.value);
  }
  return body;
}

function ItemEditor({ type, item, onDone, onCancel }: { type: ItemType; item?: Item; onDone: () => Promise<void>; onCancel?: () => void }) {
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [progress, setProgress] = useState<number | null>(null);
  const fields = ITEM_FIELDS[type];
  const prefix = item ? `edit-${item.id}-` : 'new-';
  return (
    <form
      class="item-form"
      noValidate
      onSubmit={async (event) => {
        event.preventDefault();
        const body = await itemForm(event.currentTarget, fields);
        if (!item) body.append('item_type', type);
        setProgress(0);
        const result = await uploadWithProgress(
          item ? `/api/profile/background/items/${type}/${item.id}/` : '/api/profile/background/items/',
          body,
          setProgress,
          item ? 'PATCH' : 'POST',
        ).catch((e: Error) => ({ ok: false, status: 0, body: { detail: e.message } }));
        setProgress(null);
        if (!result.ok) {
          setErrors(
            result.status === 400 || result.status === 413 ? fieldErrors(result.body) : { non_field_errors: errorText(result.body) },
          );
          return;
        }
        setErrors({});
        (event.target as HTMLFormElement).reset();
        await onDone();
      }}
    >
      <div class="grid-2">
        {fields.map((field) => (
          <Field label={field.label} name={`${prefix}${field.name}`} error={errors[field.name]}>
            {(p) => {
              const props = { ...p, name: field.name };
              const value = valueOf(item, field.name);
              if (field.kind === 'checkbox') return <input {...props} type="checkbox" defaultChecked={Boolean(value)} />;
              if (field.kind === 'textarea') return <textarea {...props} rows={2} defaultValue={textOf(value)} />;
              if (field.kind === 'file')
                return <input {...props} type="file" accept={field.name === 'image' ? 'image/*' : 'application/pdf,image/*'} />;
              return (
                <input {...props} type="text" inputMode={field.kind === 'number' ? 'decimal' : undefined} defaultValue={textOf(value)} />
              );
            }}
          </Field>
        ))}
      </div>
      {progress !== null && <progress max={1} value={progress} aria-label="Upload progress" />}
      {errors.non_field_errors && <Notice kind="error">{errors.non_field_errors}</Notice>}
      {Object.keys(errors).some((k) => !fields.some((f) => f.name === k) && k !== 'non_field_errors') && (
        <Notice kind="error">{Object.values(errors).join(' ')}</Notice>
      )}
      <div class="actions">
        <button type="submit">{item ? 'Save item' : 'Add item'}</button>
        {onCancel && (
          <button type="button" class="secondary" onClick={onCancel}>
            Cancel
          </button>
        )}
      </div>
    </form>
  );
}

export function Items({ onChanged }: { onChanged: () => Promise<void> }) {
  const [data, setData] = useState<ItemList | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [newType, setNewType] = useState<ItemType>('prop');
  const [editing, setEditing] = useState<number | null>(null);

  const load = async () => {
    const result = await api<ItemList>('/api/profile/background/items/?page_size=100');
    if (result.ok) setData(result.body);
    else setError(errorText(result.body));
  };
  const changed = async () => {
    setEditing(null);
    await Promise.all([load(), onChanged()]);
  };
  useEffect(() => {
    void load();
  }, []);

  return (
    <section class="card items" aria-labelledby="items-title">
      <h2 id="items-title">My items {data && <span class="hint">({data.total_items})</span>}</h2>
      {error && <Notice kind="error">{error}</Notice>}
      {data && !data.subscription_status.can_access_features && <Notice kind="info">{data.subscription_status.message}</Notice>}
      {data &&
        Object.entries(data.items as Record<string, Item[]>)
          .filter((entry): entry is [ItemType, Item[]] => isItemType(entry[0]) && entry[1].length > 0)
          .map(([type, list]) => (
            <div class="item-group">
              <h3>{typeLabel(type)}</h3>
              <ul class="item-list">
                {list.map((item) => (
                  <li class="item" data-item-id={item.id}>
                    {editing === item.id ? (
                      <ItemEditor type={type} item={item} onDone={changed} onCancel={() => setEditing(null)} />
                    ) : (
                      <div class="item-row">
                        {item.image ? (
                          <Picture
                            src={item.image}
                            info={item.image_info as PictureInfo | null}
                            shape="avatar"
                            width={64}
                            height={64}
                            alt=""
                          />
                        ) : (
                          <img src="/default-avatar.svg" alt="" width={64} height={64} loading="lazy" />
                        )}
                        <div class="item-text">
                          <strong>{item.name}</strong>
                          <span class="hint">
                            {item.price ? `${item.price}` : 'No price'}
                            {item.is_for_rent ? ' · for rent' : ''}
                            {item.is_for_sale ? ' · for sale' : ''}
                          </span>
                        </div>
                        <div class="actions">
                          <button type="button" class="secondary" onClick={() => setEditing(item.id)} aria-label={`Edit ${item.name}`}>
                            Edit
                          </button>
                          <button
                            type="button"
                            class="danger"
                            aria-label={`Delete ${item.name}`}
                            onClick={async () => {
                              if (!window.confirm(`Delete “${item.name}”?`)) return;
                              const result = await api(`/api/profile/background/items/${type}/${item.id}/`, { method: 'DELETE' });
                              if (!result.ok) setError(errorText(result.body));
                              await changed();
                            }}
                          >
                            Delete
                          </button>
                        </div>
                      </div>
                    )}
                  </li>
                ))}
              </ul>
            </div>
          ))}
      <h3>Add an item</h3>
      <Field label="Type" name="new-item-type">
        {(p) => (
          <select {...p} value={newType} onChange={(e) => isItemType(e.currentTarget.value) && setNewType(e.currentTarget.value)}>
            {Object.keys(ITEM_FIELDS).map((value) => (
              <option value={value}>{typeLabel(value)}</option>
            ))}
          </select>
        )}
      </Field>
      <ItemEditor key={newType} type={newType} onDone={changed} />
    </section>
  );
}
