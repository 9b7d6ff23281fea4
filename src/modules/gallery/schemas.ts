import { Type } from 'typebox';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) => Type.Union([schema, Type.Null()]);

export const GalleryItem = Type.Object({
  id: Type.Integer(),
  talent: Type.Integer(),
  name: Type.String(),
  media_info: Type.String(),
  media_type: Type.Enum(['image', 'video']),
  media_file: Type.String(),
  thumbnail: Type.Null(),
  created_at: Type.String(),
  updated_at: Type.String(),
  is_test_video: Type.Boolean(),
  test_video_number: Nullable(Type.Integer()),
  is_about_yourself_video: Type.Boolean(),
  sharing_status: Type.Object({ is_shared: Type.Boolean(), shared_with: Type.Array(Type.Unknown()), sharing_enabled: Type.Boolean() }),
});

export const GalleryCreated = Type.Object({
  ...GalleryItem.properties,
  file_limits: Type.Object({ image_max_mb: Type.Integer(), video_max_mb: Type.Integer() }),
});

/** What the upload form accepts (documentation; input.ts validates). */
export const GalleryUploadBody = Type.Object({
  media_file: Type.String({
    format: 'binary',
    title: 'Photo',
    description: 'A photo (multipart file): JPEG, PNG, GIF, WebP or AVIF, at most MAX_IMAGE_SIZE.',
  }),
  name: Type.String({ maxLength: 124 }),
  media_info: Type.Optional(Type.String({ maxLength: 2000 })),
});

export const MediaIdParams = Type.Object({ id: Type.String({ maxLength: 20 }) });
