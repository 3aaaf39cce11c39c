/**
 * (images, and later containers, volumes, networks) over one Paths object.
 * Services are created on first use so a command pays only for what it
 * touches.
 */
import * as fs from 'node:fs';
import {invalidInput} from '../util/errors';
import {Paths} from '../state/paths';
import {ImageService} from '../image/service';
import {ContainerService} from '../container/service';
import {ContainerRootfs} from '../container/rootfs';
import {SystemChecker, type CheckOptions, type CheckReport} from '../system/check';

/** "1500", "1500ms", "2s", "1m" → milliseconds. */
function parseDuration(s: string, what: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(s.trim());
  if (!m || Number(m[1]) <= 0) throw invalidInput(`invalid ${what} "${s}": use e.g. 500ms, 10s or 1m`);
  return Math.round(Number(m[1]) * (m[2] === 's' ? 1000 : m[2] === 'm' ? 60_000 : 1));
}

export interface EngineOptions {
  root?: string;
  runroot?: string;
  storageDriver?: string;
  env?: NodeJS.ProcessEnv;
}

export class Engine {
  readonly paths: Paths;
  readonly storageDriver: string;
  private readonly registryTimeoutMs?: number;
  private _images?: ImageService;
  private _containers?: ContainerService;
  private _rootfs?: ContainerRootfs;

  constructor(opts: EngineOptions = {}) {
    const env = opts.env ?? process.env;
    this.paths = new Paths({root: opts.root, runroot: opts.runroot, env});
    // A store this user may not open (root's, another user's) is an error, never an empty store.
    if (this.paths.rootless) {
      for (const dir of [this.paths.root, this.paths.runroot]) {
        try {
          fs.accessSync(dir, fs.constants.R_OK | fs.constants.W_OK | fs.constants.X_OK);
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (code !== 'ENOENT') throw invalidInput(`cannot open the store ${dir}: ${code === 'EACCES' || code === 'EPERM' ? 'permission denied' : code}`);
        }
      }
    }
    this.storageDriver = opts.storageDriver || env.SKIFF_STORAGE_DRIVER || 'overlay';
    this.registryTimeoutMs = env.SKIFF_REGISTRY_TIMEOUT ? parseDuration(env.SKIFF_REGISTRY_TIMEOUT, 'SKIFF_REGISTRY_TIMEOUT') : undefined;
  }

  get images(): ImageService {
    if (!this._images) {
      this._images = new ImageService(this.paths, {containersUsing: (id) => this.containers.usingImage(id)});
      this._images.registryTimeoutMs = this.registryTimeoutMs;
    }
    return this._images;
  }

  get containers(): ContainerService {
    return (this._containers ??= new ContainerService(this.paths, this.images));
  }

  /** Containers' merged root filesystems outside their run (mount, cp, export). */
  get rootfs(): ContainerRootfs {
    return (this._rootfs ??= new ContainerRootfs(this.paths, this.containers, this.images));
  }

  /** system check: verify the store (and repair what can be repaired). */
  async check(opts: CheckOptions = {}): Promise<CheckReport> {
    return new SystemChecker(this.paths, this.images, this.containers, opts).run();
  }
}
