/**
 * A container's merged root filesystem outside its run: `skiff mount`,
 * `umount`, and the temporary mounts of cp, export, diff and commit.
 *
 * Mounts are reference-counted, as podman's storage layer counts them:
 * runroot/containers/<id>/mount-count says how many holders other than the
 * running container itself want the rootfs mounted. The container's own
 * start reuses an existing mount, and its exit (unprepare) leaves the mount
 * in place while the count is above zero; an unmount leaves it in place
 * while the container runs. The count lives in the runroot, like the mount:
 * after a reboot both are gone, and a count whose mount is missing is read
 * as zero. Changed only under the container's lock.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type {Paths} from '../state/paths';
import type {ImageService} from '../image/service';
import type {ContainerService} from './service';
import type {ContainerRecord} from './store';
import {containerPaths} from './prepare';
import {isMounted, mountRootfs, unmountRootfs} from '../storage/overlay';
import {notFound} from '../util/errors';
import {removeFile} from '../state/remove-tree';

export function mountCountFile(paths: Paths, id: string): string {
  return path.join(paths.runContainersDir, id, 'mount-count');
}

/** The external holders of a container's rootfs mount (0 when the mount itself is gone). */
export function readMountCount(paths: Paths, id: string): number {
  let n = 0;
  try {
    n = Number.parseInt(fs.readFileSync(mountCountFile(paths, id), 'utf8'), 10) || 0;
  } catch {
    return 0;
  }
  if (n > 0 && !isMounted(containerPaths(paths, id).rootfs)) return 0;
  return Math.max(0, n);
}

function writeMountCount(paths: Paths, id: string, n: number): void {
  const f = mountCountFile(paths, id);
  if (n <= 0) {
    removeFile(f);
    return;
  }
  fs.mkdirSync(path.dirname(f), {recursive: true, mode: 0o700});
  const tmp = `${f}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, String(n));
  fs.renameSync(tmp, f);
}

export interface MountedContainer {
  id: string;
  name: string;
  mountpoint: string;
}

const live = (s: string) => s === 'running' || s === 'paused' || s === 'stopping';

export class ContainerRootfs {
  constructor(
    private readonly paths: Paths,
    private readonly containers: ContainerService,
    private readonly images: ImageService,
  ) {}

  /** Image layer directories of a container, base first. */
  layerDirs(rec: ContainerRecord): string[] {
    const image = this.images.list().find((i) => i.id === rec.config.image);
    if (!image) throw notFound(`image ${rec.config.image.slice(0, 12)} of container ${rec.config.name} is no longer in the store`);
    return image.layers.map((l) => this.images.layers.diffPath(l));
  }

  /** Mount (or reuse the mount of) the container's rootfs and take one reference; returns the merged path. */
  async mount(input: string): Promise<{record: ContainerRecord; path: string}> {
    const id = this.containers.store.resolve(input).config.id;
    const lock = await this.containers.store.lockContainer(id);
    try {
      const rec = this.containers.get(id);
      const p = containerPaths(this.paths, id);
      const count = readMountCount(this.paths, id);
      if (!isMounted(p.rootfs)) {
        fs.mkdirSync(p.bundle, {recursive: true, mode: 0o700});
        mountRootfs({layers: this.layerDirs(rec), upper: p.upper, work: p.work, target: p.rootfs});
      }
      writeMountCount(this.paths, id, count + 1);
      return {record: rec, path: p.rootfs};
    } finally {
      lock.release();
    }
  }

  /**
   * Drop one reference (all with force); the mount goes when nobody holds
   * it and the container is not running. Returns whether it was unmounted.
   */
  async unmount(input: string, opts: {force?: boolean} = {}): Promise<{record: ContainerRecord; unmounted: boolean}> {
    const id = this.containers.store.resolve(input).config.id;
    const lock = await this.containers.store.lockContainer(id);
    try {
      const rec = this.containers.get(id);
      const p = containerPaths(this.paths, id);
      const count = opts.force ? 0 : Math.max(0, readMountCount(this.paths, id) - 1);
      writeMountCount(this.paths, id, count);
      if (count > 0 || live(rec.state.status) || rec.state.mounted) return {record: rec, unmounted: false};
      return {record: rec, unmounted: unmountRootfs(p.rootfs)};
    } finally {
      lock.release();
    }
  }

  /** Containers whose rootfs is mounted (by skiff mount or because they run). */
  list(): MountedContainer[] {
    const out: MountedContainer[] = [];
    for (const rec of this.containers.list()) {
      const p = containerPaths(this.paths, rec.config.id);
      if (isMounted(p.rootfs)) out.push({id: rec.config.id, name: rec.config.name, mountpoint: p.rootfs});
    }
    return out;
  }

  /** Run fn with the merged rootfs mounted (a counted reference for the duration, so neither an exit nor an unmount pulls it away). */
  async with<T>(input: string, fn: (rootfs: string, rec: ContainerRecord) => Promise<T>): Promise<T> {
    const {record, path: rootfs} = await this.mount(input);
    try {
      return await fn(rootfs, record);
    } finally {
      await this.unmount(record.config.id);
    }
  }
}
