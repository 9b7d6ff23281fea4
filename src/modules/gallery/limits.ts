/** What a gallery may hold, by the account's plan. */
export interface GalleryLimits {
  images: number;
  videos: number;
}

/** The live service's TalentUserProfile limits by account type (images free 1 / premium 4 / platinum 6; videos 0 / 2 / 4). */
const TALENT: Record<string, GalleryLimits> = {
  free: { images: 1, videos: 0 },
  premium: { images: 4, videos: 2 },
  platinum: { images: 6, videos: 4 },
};

/** A background user with Production Assets Pro: a full casting set of photos (Spotlight holds 15). */
const BACKGROUND_SUBSCRIBED: GalleryLimits = { images: 15, videos: 2 };
const NONE: GalleryLimits = { images: 0, videos: 0 };

export function talentGalleryLimits(accountType: string): GalleryLimits {
  return TALENT[accountType] ?? NONE;
}

export function backgroundGalleryLimits(subscribed: boolean): GalleryLimits {
  return subscribed ? BACKGROUND_SUBSCRIBED : NONE;
}
