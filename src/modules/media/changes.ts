import type { UploadedFile } from '../../http/multipart.js';
import type { PictureFocus } from '../../images/analysis.js';
import type { PictureDetails } from './pictures.js';
import type { DeletionQueue } from './deletions.js';
import type { InTransaction, MediaRepository } from './repository.js';
import { storedNames, type FileTarget, type MediaIngest, type StoredFile } from './ingest.js';

/** A file a change brings: what it is checked as and where it goes. */
export interface NewFile extends FileTarget {
  file: UploadedFile;
  kind: 'image' | 'document' | 'video';
}

/** What a commit did: its result, and the names it stopped referencing (queued in its transaction). */
export interface Committed<T> {
  value: T;
  replaced: readonly string[];
}

/**
 * The one order of every change that stores files, so no failure leaves a file nothing references
 * or a row pointing at nothing: store each new file; commit (the transaction records the new
 * pictures and queues the files it replaces); then delete those, once the answer is written
 * (DeletionQueue.later). A failure before the commit ends removes the new files again.
 */
export class MediaChanges {
  constructor(
    private readonly deps: {
      ingest: MediaIngest;
      deletions: DeletionQueue;
      records: Pick<MediaRepository, 'swapVariants' | 'recordPictures'>;
      clock: () => Date;
    },
  ) {}

  /**
   * `commit` runs `first` at the start of its transaction: it records what the new pictures are
   * (size, placeholder, variants) in the transaction that makes them referenced, so a reader never
   * sees a picture without its variants and a failed commit leaves no record behind.
   */
  async apply<T>(
    files: readonly NewFile[],
    commit: (stored: Record<string, StoredFile>, first: InTransaction) => Promise<Committed<T>>,
  ): Promise<Committed<T> & { stored: Record<string, StoredFile> }> {
    const stored: Record<string, StoredFile> = {};
    let committed: Committed<T>;
    try {
      for (const file of files) {
        stored[file.field] =
          file.kind === 'image'
            ? await this.deps.ingest.storeImage(file.file, file, { variants: true })
            : file.kind === 'video'
              ? await this.deps.ingest.storeVideo(file.file, file)
              : await this.deps.ingest.storeDocument(file.file, file);
      }
      const pictures = files.flatMap((file) => {
        const picture = stored[file.field]?.picture;
        return picture ? [{ name: stored[file.field]!.name, userId: file.ownerId, ...picture }] : [];
      });
      const now = this.deps.clock().toISOString();
      committed = await commit(stored, (trx) => this.deps.records.recordPictures(pictures, now, trx));
    } catch (error) {
      // Also when the account was deleted while its files were being stored (the commit held its
      // owner first, holdOwner): OwnerGoneError then answers 401 user_not_found.
      for (const name of Object.values(stored).flatMap(storedNames)) await this.deps.deletions.discard(name);
      throw error;
    }
    this.deps.deletions.later(committed.replaced);
    return { ...committed, stored };
  }

  /**
   * Re-frames a stored picture's variants (see MediaIngest.reframeStored): the new ones are written
   * first, the record swapped to them in one transaction that queues the old ones, and those are
   * deleted after the commit. False when the picture was replaced or re-framed meanwhile (the new
   * variants are deleted again, as on any failure before the commit). With `analyse`, the face
   * check runs as on an upload (media backfill of a picture recorded before analyses existed).
   */
  async reframe(
    master: { name: string; folder: string; ownerId: number },
    current: Pick<PictureDetails, 'analysis'> & { variants: readonly { name: string }[] },
    focus: PictureFocus | null,
    options: { analyse?: boolean; field?: string } = {},
  ): Promise<boolean> {
    const target = { folder: master.folder, ownerId: master.ownerId, field: options.field ?? 'focus' };
    const picture = await this.deps.ingest.reframeStored(master.name, target, current.analysis, focus, { analyse: options.analyse });
    const made = picture.variants.map((variant) => variant.name);
    let old: string[] | null;
    try {
      old = await this.deps.records.swapVariants(
        master.name,
        current.variants.map((variant) => variant.name),
        picture,
        this.deps.clock().toISOString(),
      );
    } catch (error) {
      for (const name of made) await this.deps.deletions.discard(name);
      throw error;
    }
    if (!old) {
      for (const name of made) await this.deps.deletions.discard(name);
      return false;
    }
    this.deps.deletions.later(old, true);
    return true;
  }

  /** After a commit that dropped rows and queued their files (a deletion): delete those files, after the answer. */
  purgeCommitted(names: readonly string[]): void {
    this.deps.deletions.later(names);
  }
}
