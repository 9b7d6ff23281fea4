import { Picture, shrinkForUpload } from './pictures';
import { useEffect, useState } from 'preact/hooks';
import { api, errorText, uploadWithProgress, type Reply, type Role } from './api';
import { Notice } from './ui';

type GalleryItem = Reply<'/api/profile/talent/media/{id}/', 'patch'>;
type Slot = NonNullable<GalleryItem['slot']>;
type Tag = GalleryItem['tags'][number];

const SLOTS: { value: Slot; label: string }[] = [
  { value: 'headshot', label: 'Headshot' },
  { value: 'full_body', label: 'Full body' },
  { value: 'casual', label: 'Casual' },
  { value: 'business', label: 'Business' },
  { value: 'formal', label: 'Formal' },
  { value: 'special', label: 'Special skill' },
];
const TAGS: Tag[] = ['theatrical', 'commercial'];

/** One file on its way up: its own progress bar and, if it failed, the server's words. */
interface Upload {
  key: number;
  name: string;
  progress: number;
  error?: string;
}

/** "Headshot 2024.jpg" -> "Headshot 2024": the item's name (the API requires one). */
const nameOf = (file: File) => (file.name.replace(/\.[^.]+$/, '').trim() || 'Untitled').slice(0, 124);

let uploadKeys = 0;

/**
 * The gallery: photos and videos with a progress bar per file, drag (or the arrow buttons) to
 * reorder, a casting slot, tags and visibility per item, and "Make headshot" to promote a photo to
 * the profile picture.
 */
export function Gallery({ role, onChanged }: { role: Role; onChanged: () => Promise<void> }) {
  const base = `/api/profile/${role}/media/`;
  const [items, setItems] = useState<GalleryItem[] | null>(null);
  const [uploads, setUploads] = useState<Upload[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [dragged, setDragged] = useState<number | null>(null);

  const load = async () => {
    const result = await api<GalleryItem[]>(base);
    if (result.ok) setItems(result.body);
    else setError(errorText(result.body));
  };
  useEffect(() => {
    void load();
  }, [role]);

  const patchUpload = (key: number, change: Partial<Upload>) =>
    setUploads((list) => list.map((upload) => (upload.key === key ? { ...upload, ...change } : upload)));

  const send = async (files: File[]) => {
    setError(null);
    // Files go one after another (the server processes each in turn anyway); each has its own bar.
    const queued = files.map((file) => ({ key: ++uploadKeys, name: file.name, progress: 0, file }));
    setUploads((list) => [...list, ...queued.map(({ key, name, progress }) => ({ key, name, progress }))]);
    for (const { key, file } of queued) {
      const body = new FormData();
      // Photos are shrunk to what the server keeps before they are sent; videos go as they are.
      body.append('media_file', file.type.startsWith('image/') ? await shrinkForUpload(file) : file);
      body.append('name', nameOf(file));
      const result = await uploadWithProgress(base, body, (fraction) => patchUpload(key, { progress: fraction })).catch((e: Error) => ({
        ok: false as const,
        status: 0,
        body: { detail: e.message },
      }));
      if (result.ok) {
        setUploads((list) => list.filter((upload) => upload.key !== key));
        await load();
      } else patchUpload(key, { error: errorText(result.body) });
    }
    await onChanged();
  };

  const change = async (item: GalleryItem, patch: Record<string, unknown>) => {
    const result = await api<GalleryItem>(`${base}${item.id}/`, { method: 'PATCH', json: patch });
    if (!result.ok) setError(errorText(result.body));
    await load();
  };

  const reorder = async (order: number[]) => {
    if (items) setItems(order.map((id) => items.find((item) => item.id === id)!).filter(Boolean));
    const result = await api<GalleryItem[]>(`${base}reorder/`, { method: 'POST', json: { order } });
    if (result.ok) setItems(result.body);
    else {
      setError(errorText(result.body));
      await load();
    }
  };

  const move = (id: number, to: number) => {
    if (!items) return;
    const order = items.map((item) => item.id).filter((other) => other !== id);
    order.splice(Math.max(0, Math.min(order.length, to)), 0, id);
    void reorder(order);
  };

  return (
    <section class="card gallery" aria-labelledby="gallery-title">
      <h2 id="gallery-title">Gallery {items && <span class="hint">({items.length})</span>}</h2>
      <p class="hint">Photos and videos casting directors see, first to last. Drag to reorder.</p>
      {error && <Notice kind="error">{error}</Notice>}
      <label class="dropzone">
        <span>Add photos or videos</span>
        <input
          type="file"
          multiple
          accept="image/jpeg,image/png,image/gif,image/webp,image/avif,image/heic,image/heif,.heic,.heif,video/mp4,video/quicktime,video/webm"
          aria-label="Add photos or videos"
          onChange={(event) => {
            const files = [...(event.currentTarget.files ?? [])];
            event.currentTarget.value = '';
            if (files.length > 0) void send(files);
          }}
        />
      </label>
      {uploads.length > 0 && (
        <ul class="uploads">
          {uploads.map((upload) => (
            <li data-upload={upload.name}>
              <span>{upload.name}</span>
              {upload.error ? (
                <Notice kind="error">{upload.error}</Notice>
              ) : (
                <progress max={1} value={upload.progress} aria-label={`Uploading ${upload.name}`} />
              )}
            </li>
          ))}
        </ul>
      )}
      {items && (
        <ol class="gallery-grid">
          {items.map((item, index) => (
            <li
              class={`gallery-item${dragged === item.id ? ' dragging' : ''}`}
              data-media-id={item.id}
              draggable
              onDragStart={(event) => {
                setDragged(item.id);
                event.dataTransfer?.setData('text/plain', String(item.id));
              }}
              onDragEnd={() => setDragged(null)}
              onDragOver={(event) => event.preventDefault()}
              onDrop={(event) => {
                event.preventDefault();
                const id = Number(event.dataTransfer?.getData('text/plain') || dragged);
                setDragged(null);
                if (id && id !== item.id) move(id, index);
              }}
            >
              <div class="gallery-media">
                {item.media_type === 'video' ? (
                  <video src={item.media_file} poster={item.thumbnail ?? undefined} controls preload="none" width={240} height={180} />
                ) : (
                  <Picture src={item.media_file} info={item.media_file_info} shape="card" width={240} height={300} alt={item.name} />
                )}
                {item.slot && <span class="badge">{SLOTS.find((slot) => slot.value === item.slot)?.label}</span>}
              </div>
              <strong>{item.name}</strong>
              <span class={`hint freshness${item.freshness.stale ? ' stale' : ''}`}>
                {item.media_type === 'video' && item.duration_seconds ? `${Math.round(item.duration_seconds)} s · ` : ''}
                {item.freshness.label}
                {item.freshness.stale && item.media_type === 'image' ? ' — casting asks for photos under six months old' : ''}
              </span>
              {item.media_type === 'image' && (
                <label>
                  Slot
                  <select
                    aria-label={`Slot of ${item.name}`}
                    value={item.slot ?? ''}
                    onChange={(event) => void change(item, { slot: event.currentTarget.value || null })}
                  >
                    <option value="">None</option>
                    {SLOTS.map((slot) => (
                      <option value={slot.value}>{slot.label}</option>
                    ))}
                  </select>
                </label>
              )}
              <fieldset class="tags">
                <legend class="visually-hidden">Tags of {item.name}</legend>
                {TAGS.map((tag) => (
                  <label>
                    <input
                      type="checkbox"
                      aria-label={`${tag} (${item.name})`}
                      checked={item.tags.includes(tag)}
                      onChange={(event) =>
                        void change(item, {
                          tags: event.currentTarget.checked ? [...item.tags, tag] : item.tags.filter((other) => other !== tag),
                        })
                      }
                    />
                    {tag}
                  </label>
                ))}
              </fieldset>
              <label>
                <input
                  type="checkbox"
                  aria-label={`Hidden (${item.name})`}
                  checked={item.visibility === 'hidden'}
                  onChange={(event) => void change(item, { visibility: event.currentTarget.checked ? 'hidden' : 'public' })}
                />
                Hidden from casting
              </label>
              <div class="actions">
                <button
                  type="button"
                  class="secondary"
                  aria-label={`Move ${item.name} earlier`}
                  disabled={index === 0}
                  onClick={() => move(item.id, index - 1)}
                >
                  ←
                </button>
                <button
                  type="button"
                  class="secondary"
                  aria-label={`Move ${item.name} later`}
                  disabled={index === items.length - 1}
                  onClick={() => move(item.id, index + 1)}
                >
                  →
                </button>
                {item.media_type === 'image' && item.slot !== 'headshot' && (
                  <button
                    type="button"
                    aria-label={`Make ${item.name} my headshot`}
                    onClick={async () => {
                      const result = await api(`${base}${item.id}/promote/`, { method: 'POST' });
                      if (!result.ok) setError(errorText(result.body));
                      await Promise.all([load(), onChanged()]);
                    }}
                  >
                    Make headshot
                  </button>
                )}
                <button
                  type="button"
                  class="danger"
                  aria-label={`Delete ${item.name}`}
                  onClick={async () => {
                    if (!window.confirm(`Delete “${item.name}”?`)) return;
                    const result = await api(`${base}${item.id}/`, { method: 'DELETE' });
                    if (!result.ok) setError(errorText(result.body));
                    await Promise.all([load(), onChanged()]);
                  }}
                >
                  Delete
                </button>
              </div>
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}
