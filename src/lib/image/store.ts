/**
 * Image records: root/images/images.json, one atomic file holding every
 * image (as containers/storage's images.json does), so names stay unique
 * and a reader always sees a consistent set. Mutations happen only inside
 * `update()`, under the store-wide `images` lock, on a fresh read.
 */
import * as fs from 'node:fs';
import type {Paths} from '../state/paths';
import {ensureDir, readJsonIfExists, writeJsonAtomic} from '../state/atomic';
import {withLock} from '../state/lock';
import {storageError} from '../util/errors';

export interface ImageRecord {
  /** Hex of the config digest. */
  id: string;
  /** Tagged names, full form: "docker.io/library/busybox:latest". */
  names: string[];
  /** Repository digests: "docker.io/library/busybox@sha256:...". */
  repoDigests: string[];
  /** Digest of the manifest this image was pulled by (the index's, when pulled through one). */
  digest: string;
  /** Digest of the image manifest itself. */
  manifestDigest: string;
  manifestMediaType: string;
  configDigest: string;
  /** Chain IDs, base layer first. */
  layers: string[];
  size: number;
  /** From the image config. */
  created: string;
  /** When it entered this store. */
  added: string;
  /** Earlier names, newest first (podman's NamesHistory). */
  namesHistory?: string[];
}

interface IndexFile {
  version: 1;
  images: ImageRecord[];
}

export class ImageStore {
  constructor(private readonly paths: Paths) {}

  /** A consistent snapshot of all records (no lock: the file is replaced atomically). */
  list(): ImageRecord[] {
    let doc: IndexFile | undefined;
    try {
      doc = readJsonIfExists<IndexFile>(this.paths.imagesIndex);
    } catch (err) {
      throw storageError(`reading ${this.paths.imagesIndex}: ${(err as Error).message}`, err);
    }
    return doc?.images ?? [];
  }

  /**
   * Read-modify-write under the `images` lock. `fn` receives a fresh copy
   * and returns the new list (or undefined for no change) plus a result.
   */
  async update<T>(fn: (images: ImageRecord[]) => {images?: ImageRecord[]; result: T} | Promise<{images?: ImageRecord[]; result: T}>): Promise<T> {
    return withLock(this.paths, 'images', async () => {
      const {images, result} = await fn(this.list());
      if (images) {
        ensureDir(this.paths.imagesDir);
        writeJsonAtomic(this.paths.imagesIndex, {version: 1, images} satisfies IndexFile);
      }
      return result;
    });
  }

  exists(): boolean {
    return fs.existsSync(this.paths.imagesIndex);
  }
}

/** Add a name to `target`, taking it away from any other image (docker/podman semantics). */
export function assignName(images: ImageRecord[], targetId: string, name: string): ImageRecord[] {
  return images.map((img) => {
    if (img.id === targetId) return img.names.includes(name) ? img : {...img, names: [...img.names, name]};
    if (!img.names.includes(name)) return img;
    return {...img, names: img.names.filter((n) => n !== name), namesHistory: [name, ...(img.namesHistory ?? []).filter((n) => n !== name)]};
  });
}
