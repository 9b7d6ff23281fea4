import { constants } from 'node:fs';
import { copyFile, mkdir, open, readdir, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { ListedNames, PutBody, PutOptions, Storage, StoredObject } from './types.js';
import { contentTypeForName, assertSafeName, isLegacyName, isSafeName } from './names.js';

export interface LocalStorageOptions {
  root: string;
  /** URL path prefix the app serves the folder under, e.g. "media" → /media/<name>. */
  urlPrefix: string;
  publicBaseUrl: string | undefined;
}

/** `<name>.<random>.partial`: a write in progress, or one a crash interrupted before its rename. */
const PARTIAL = /^(.+)\.[0-9a-f]{12}\.partial$/;

/** A folder on disk, served by the app at /<urlPrefix>/ (see http/media.ts). */
export class LocalStorage implements Storage {
  readonly driver = 'local' as const;
  readonly root: string;

  constructor(private readonly options: LocalStorageOptions) {
    this.root = path.resolve(options.root);
  }

  private pathOf(name: string): string {
    assertSafeName(name);
    return path.join(this.root, name);
  }

  async put(name: string, body: PutBody, options?: Pick<PutOptions, 'newName'>): Promise<void> {
    const target = this.pathOf(name);
    const folder = path.dirname(target);
    const write = () => (options?.newName ? this.writeNew(target, body) : this.write(target, body));
    // Folders are created once per process (an upload writes six files into the same one); if one
    // was removed meanwhile, the write fails with ENOENT and is tried again after creating it.
    if (!this.folders.has(folder)) await this.createFolder(folder);
    try {
      await write();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      await this.createFolder(folder);
      await write();
    }
  }

  private readonly folders = new Set<string>();

  private async createFolder(folder: string): Promise<void> {
    await mkdir(folder, { recursive: true });
    this.folders.add(folder);
  }

  /** Write aside, then rename: a reader or a crash never sees half a file under the real name. */
  private async write(target: string, body: PutBody): Promise<void> {
    const temporary = `${target}.${randomBytes(6).toString('hex')}.partial`;
    try {
      if (Buffer.isBuffer(body)) await writeFile(temporary, body, { flag: 'wx' });
      else await copyFile(body.path, temporary, constants.COPYFILE_EXCL);
      await rename(temporary, target);
    } catch (error) {
      await rm(temporary, { force: true });
      throw error;
    }
  }

  /**
   * A new name (PutOptions.newName) is written in place: nothing references it until the caller
   * commits after the write succeeded, so no reader asks for it half-written, and a crash leaves
   * an unreferenced file that the media sweep removes, as it removes a partial one. It saves the
   * rename, a trip through libuv's thread pool (about 0.15 ms of every picture upload's last
   * write here). A name that exists already is refused (EEXIST) and left as it is.
   */
  private async writeNew(target: string, body: PutBody): Promise<void> {
    try {
      if (Buffer.isBuffer(body)) await writeFile(target, body, { flag: 'wx' });
      else await copyFile(body.path, target, constants.COPYFILE_EXCL);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') await rm(target, { force: true });
      throw error;
    }
  }

  async delete(name: string): Promise<void> {
    const partialOf = PARTIAL.exec(name)?.[1];
    try {
      // Leftover partial files are listed like objects, so the sweep removes them after its grace period.
      await unlink(partialOf ? `${this.pathOf(partialOf)}${name.slice(partialOf.length)}` : this.pathOf(name));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }

  async exists(name: string): Promise<boolean> {
    try {
      return (await stat(this.pathOf(name))).isFile();
    } catch {
      return false;
    }
  }

  async *list(folder: string, names: ListedNames = 'own'): AsyncIterable<StoredObject> {
    const dir = path.join(this.root, folder);
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    for (const entry of entries) {
      // Django's talent media sit one folder deeper (talent_media/user_<id>/): adopted names only.
      if (entry.isDirectory() && names === 'adopted' && /^user_\d{1,12}$/.test(entry.name)) {
        yield* this.list(`${folder}/${entry.name}`, names);
        continue;
      }
      if (!entry.isFile()) continue;
      // Only names castfolio makes (and their leftover partial writes), or adopted names when asked.
      const name = `${folder}/${entry.name}`;
      if (!(names === 'adopted' ? isLegacyName(name) : isSafeName(PARTIAL.exec(name)?.[1] ?? name))) continue;
      const info = await stat(path.join(dir, entry.name)).catch(() => undefined);
      if (info) yield { name, size: info.size, lastModified: info.mtime };
    }
  }

  /**
   * The file is opened before this resolves, and read through that descriptor: a delete that lands
   * meanwhile (a replacement's clean-up) leaves the read whole, where a stream opening the path
   * later would fail half-way with ENOENT.
   */
  async get(name: string) {
    let handle;
    try {
      handle = await open(this.pathOf(name), 'r');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'EISDIR' || code === 'ENOTDIR') return undefined;
      throw error;
    }
    try {
      if (!(await handle.stat()).isFile()) {
        await handle.close();
        return undefined;
      }
    } catch (error) {
      await handle.close();
      throw error;
    }
    return { body: handle.createReadStream(), contentType: contentTypeForName(name), cacheControl: undefined };
  }

  publicUrl(name: string, origin: string): string {
    const base = (this.options.publicBaseUrl ?? origin).replace(/\/+$/, '');
    const prefix = this.options.urlPrefix ? `/${this.options.urlPrefix}` : '';
    return `${base}${prefix}/${name}`;
  }

  async check(): Promise<void> {
    await mkdir(this.root, { recursive: true });
    const probe = path.join(this.root, `.ready-${randomBytes(4).toString('hex')}`);
    await writeFile(probe, '');
    await unlink(probe);
  }

  async close(): Promise<void> {}
}
