/**
 * The layer store: root/layers/<chain-id hex>/{diff/, layer.json}.
 *
 * A layer directory appears in layers/ only when complete: it is built in
 * root/tmp/layer-<hex>-<rand>/ (diff/ plus layer.json with complete: true)
 * and renamed into place in one step. A process killed mid-build leaves only
 * a temp directory, which cleanupTemp() removes once nobody holds that
 * layer's lock. Layers are shared between images by chain ID.
 *
 * Locking (see state/lock.ts): building holds layer-<hex> exclusively; a
 * completed layer is pinned with the same lock in shared mode until the
 * image that uses it is recorded; removal only try-locks exclusively and
 * skips busy layers.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {randomBytes} from 'node:crypto';
import type {Paths} from '../state/paths';
import {ensureDir, readJsonIfExists, writeJsonAtomic} from '../state/atomic';
import {deleteOnRelease, tryLockFile, type Lock} from '../state/lock';
import {removeStaleTemp} from '../state/stale-temp';
import {removeTree} from '../state/remove-tree';
import {digestHex} from '../image/manifest';

export interface LayerRecord {
  chainId: string;
  diffId: string;
  parent?: string;
  /** Bytes of the uncompressed layer tar (podman's layer size). */
  size: number;
  compressedDigest?: string;
  compressedSize?: number;
  complete: true;
  created: string;
}

export interface BuiltLayer {
  size: number;
  compressedDigest?: string;
  compressedSize?: number;
}

export class LayerStore {
  constructor(private readonly paths: Paths) {}

  private lockName(chainId: string): string {
    return this.paths.lockFile(`layer-${digestHex(chainId)}`);
  }

  get(chainId: string): LayerRecord | undefined {
    const rec = readJsonIfExists<LayerRecord>(this.paths.layerRecord(digestHex(chainId)));
    return rec?.complete === true ? rec : undefined;
  }

  /** Hold a complete layer (shared lock) while reading it, so removal skips it; undefined if absent or busy being built. */
  async pin(chainId: string): Promise<Lock | undefined> {
    for (let i = 0; i < 200; i++) {
      if (!this.get(chainId)) return undefined;
      const l = tryLockFile(this.lockName(chainId), 'shared');
      if (l) {
        if (this.get(chainId)) return l;
        l.release();
        return undefined;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    return undefined;
  }

  diffPath(chainId: string): string {
    return this.paths.layerDiff(digestHex(chainId));
  }

  list(): LayerRecord[] {
    let names: string[];
    try {
      names = fs.readdirSync(this.paths.layersDir);
    } catch {
      return [];
    }
    const out: LayerRecord[] = [];
    for (const n of names) {
      if (!/^[0-9a-f]{64}$/.test(n)) continue;
      const rec = this.get(`sha256:${n}`);
      if (rec) out.push(rec);
    }
    return out;
  }

  /**
   * Make sure the layer exists, building it with `build(diffDir)` if not.
   * Returns the record and a shared pin the caller must release once the
   * layer is referenced by an image record (or no longer needed).
   *
   * Waiting polls two ways at once: for the exclusive lock (to build) and,
   * once the layer is complete, for a shared pin. Waiting for the exclusive
   * lock alone would deadlock two pulls that each pin a layer the other is
   * waiting for: a finished builder keeps its lock, shared, until its image
   * is recorded.
   */
  async ensure(
    chainId: string,
    info: {diffId: string; parent?: string},
    build: (diffDir: string) => Promise<BuiltLayer>,
    opts: {onWait?: () => void} = {},
  ): Promise<{record: LayerRecord; pin: Lock; built: boolean}> {
    const file = this.lockName(chainId);
    let delay = 2;
    let waited = false;
    for (;;) {
      if (this.get(chainId)) {
        const pin = tryLockFile(file, 'shared');
        if (pin) {
          const record = this.get(chainId);
          if (record) return {record, pin, built: false};
          pin.release(); // removed meanwhile: build it again
        }
      } else {
        const lock = tryLockFile(file, 'exclusive');
        if (lock) return this.buildLocked(chainId, info, build, lock);
      }
      if (!waited) {
        waited = true;
        opts.onWait?.();
      }
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 50);
    }
  }

  private async buildLocked(
    chainId: string,
    info: {diffId: string; parent?: string},
    build: (diffDir: string) => Promise<BuiltLayer>,
    lock: Lock,
  ): Promise<{record: LayerRecord; pin: Lock; built: boolean}> {
    try {
      const existing = this.get(chainId);
      if (existing) {
        lock.downgrade();
        return {record: existing, pin: lock, built: false};
      }
      const hex = digestHex(chainId);
      ensureDir(this.paths.tmpDir);
      ensureDir(this.paths.layersDir);
      const tmp = path.join(this.paths.tmpDir, `layer-${hex}-${randomBytes(4).toString('hex')}`);
      fs.mkdirSync(tmp, {mode: 0o700});
      try {
        const diff = path.join(tmp, 'diff');
        fs.mkdirSync(diff, {mode: 0o755});
        const built = await build(diff);
        const record: LayerRecord = {chainId, diffId: info.diffId, parent: info.parent, ...built, complete: true, created: new Date().toISOString()};
        writeJsonAtomic(path.join(tmp, 'layer.json'), record);
        fs.renameSync(tmp, this.paths.layerDir(hex));
        lock.downgrade();
        return {record, pin: lock, built: true};
      } catch (err) {
        removeTree(tmp);
        throw err;
      }
    } catch (err) {
      lock.release();
      throw err;
    }
  }

  /**
   * Remove layers nobody uses: each is skipped if `inUse` names it or
   * another process holds its lock (building or pinning it). Returns the
   * chain IDs removed. The directory is first renamed into tmp/ so it
   * disappears from layers/ in one step.
   */
  removeUnused(candidates: string[], inUse: ReadonlySet<string>): string[] {
    const removed: string[] = [];
    for (const chainId of candidates) {
      if (inUse.has(chainId)) continue;
      const lock = tryLockFile(this.lockName(chainId), 'exclusive');
      if (!lock) continue;
      try {
        const hex = digestHex(chainId);
        const dir = this.paths.layerDir(hex);
        if (!fs.existsSync(dir)) continue;
        ensureDir(this.paths.tmpDir);
        const trash = path.join(this.paths.tmpDir, `removing-${hex}-${randomBytes(4).toString('hex')}`);
        fs.renameSync(dir, trash);
        removeTree(trash);
        deleteOnRelease(this.lockName(chainId));
        removed.push(chainId);
      } finally {
        lock.release();
      }
    }
    return removed;
  }

  /** Remove leftovers of killed builds and removals (their layer lock is free). */
  cleanupTemp(): string[] {
    return removeStaleTemp(this.paths.tmpDir, (n) => {
      const m = /^(?:layer|removing)-([0-9a-f]{64})-[0-9a-f]{8}$/.exec(n);
      return m ? this.lockName(`sha256:${m[1]}`) : undefined;
    });
  }

}
