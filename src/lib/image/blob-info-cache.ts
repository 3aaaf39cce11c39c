/**
 * What skiff knows about a layer's compressed forms: diff ID → blobs
 * (digest, size, media type) and the registry repositories known to hold
 * each. Pulls record the blob they fetched; pushes the blob they uploaded
 * or found. A push consults it to skip (HEAD) or mount (cross-repository
 * POST) instead of compressing and sending the layer again. It is only a
 * cache: the file is replaced atomically, a lost update costs one upload.
 */
import * as path from 'node:path';
import type {Paths} from '../state/paths';
import {ensureDir, readJsonIfExists, writeJsonAtomic} from '../state/atomic';
import {log} from '../util/log';

export interface KnownBlob {
  digest: string;
  size: number;
  mediaType: string;
  /** "host[:port]/repo" */
  locations: string[];
}

interface CacheFile {
  version: 1;
  layers: Record<string, KnownBlob[]>;
}

const MAX_LOCATIONS = 16;

export class BlobInfoCache {
  constructor(private readonly paths: Paths) {}

  private read(): CacheFile {
    try {
      const doc = readJsonIfExists<CacheFile>(this.paths.blobInfoCache);
      if (doc?.version === 1 && doc.layers) return doc;
    } catch (err) {
      log.debug(`ignoring unreadable blob info cache: ${(err as Error).message}`);
    }
    return {version: 1, layers: {}};
  }

  candidates(diffId: string): KnownBlob[] {
    return this.read().layers[diffId] ?? [];
  }

  record(diffId: string, blob: Omit<KnownBlob, 'locations'>, location: string): void {
    try {
      const doc = this.read();
      const list = (doc.layers[diffId] ??= []);
      let b = list.find((x) => x.digest === blob.digest);
      if (!b) {
        b = {...blob, locations: []};
        list.push(b);
      }
      b.mediaType = blob.mediaType;
      b.locations = [location, ...b.locations.filter((l) => l !== location)].slice(0, MAX_LOCATIONS);
      ensureDir(path.dirname(this.paths.blobInfoCache));
      writeJsonAtomic(this.paths.blobInfoCache, doc);
    } catch (err) {
      log.debug(`could not update the blob info cache: ${(err as Error).message}`);
    }
  }
}
