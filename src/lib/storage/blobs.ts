/**
 * Content-addressed blobs (manifests, indexes, image configs) under
 * root/blobs/sha256/<hex>. A blob is written only after its bytes were
 * verified against its digest, atomically, so a present file is always whole.
 * Layer tarballs are not kept: layers live unpacked in the layer store.
 */
import * as fs from 'node:fs';
import type {Paths} from '../state/paths';
import {writeFileAtomic, ensureDir} from '../state/atomic';
import {digestHex, verifyDigest} from '../image/manifest';
import {storageError} from '../util/errors';

export class BlobStore {
  constructor(private readonly paths: Paths) {}

  path(digest: string): string {
    return this.paths.blob(digestHex(digest));
  }

  has(digest: string): boolean {
    return fs.existsSync(this.path(digest));
  }

  /** Verify and store; storing the same blob twice is harmless. */
  put(digest: string, bytes: Uint8Array): void {
    verifyDigest(bytes, digest, `blob ${digest}`);
    ensureDir(this.paths.blobsDir);
    const file = this.path(digest);
    if (fs.existsSync(file)) return;
    writeFileAtomic(file, bytes, {mode: 0o644});
  }

  get(digest: string): Buffer {
    try {
      return fs.readFileSync(this.path(digest));
    } catch (err) {
      throw storageError(`reading blob ${digest}: ${(err as Error).message}`, err);
    }
  }

  getIfExists(digest: string): Buffer | undefined {
    try {
      return fs.readFileSync(this.path(digest));
    } catch {
      return undefined;
    }
  }

  remove(digest: string): void {
    fs.rmSync(this.path(digest), {force: true});
  }

  /** Every stored digest. */
  list(): string[] {
    try {
      return fs.readdirSync(this.paths.blobsDir).filter((n) => /^[0-9a-f]{64}$/.test(n)).map((h) => `sha256:${h}`);
    } catch {
      return [];
    }
  }
}
