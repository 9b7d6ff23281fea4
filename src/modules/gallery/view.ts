import type { GalleryRow } from './repository.js';

/** One gallery item as the live TalentMediaSerializer shows it (`talent` is the owner's account id here). */
export function galleryItemView(row: GalleryRow, urlFor: (name: string) => string) {
  return {
    id: row.id,
    talent: row.user_id,
    name: row.name,
    media_info: row.media_info,
    media_type: row.media_type as 'image' | 'video',
    media_file: urlFor(row.file),
    thumbnail: null,
    created_at: row.created_at,
    updated_at: row.updated_at,
    is_test_video: Boolean(row.is_test_video),
    test_video_number: row.test_video_number,
    is_about_yourself_video: Boolean(row.is_about_yourself_video),
    sharing_status: { is_shared: false, shared_with: [], sharing_enabled: false },
  };
}
