/**
 * (images, and later containers, volumes, networks) over one Paths object.
 * Services are created on first use so a command pays only for what it
 * touches.
 */
import * as fs from 'node:fs';
import {invalidInput} from '../util/errors';
import {Paths} from '../state/paths';
import type {ImageService} from '../image/service';
import type {ContainerService} from '../container/service';
import type {ContainerRootfs} from '../container/rootfs';
import type {CheckOptions, CheckReport} from '../system/check';
import {ContainerReader} from '../container/reader';
import {ContainerStore} from '../container/store';

// The services' modules are required when first used, not imported: `ps`
// and `version` run from the start-up snapshot without evaluating the
// runtime, network, mount and registry code (docs/design.md "Start-up").
// The bundler keeps each required module lazy; types come from the imports above.
/* eslint-disable @typescript-eslint/no-require-imports */
const imageService = () => (require('../image/service') as typeof import('../image/service')).ImageService;
const containerService = () => (require('../container/service') as typeof import('../container/service')).ContainerService;
const containerRootfs = () => (require('../container/rootfs') as typeof import('../container/rootfs')).ContainerRootfs;
const systemChecker = () => (require('../system/check') as typeof import('../system/check')).SystemChecker;

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
  private _reader?: ContainerReader;

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
      this._images = new (imageService())(this.paths, {containersUsing: (id) => this.containers.usingImage(id)});
      this._images.registryTimeoutMs = this.registryTimeoutMs;
    }
    return this._images;
  }

  get containers(): ContainerService {
    return (this._containers ??= new (containerService())(this.paths, this.images));
  }

  /** Read-only container records with their observed state (ps, inspect): no runtime code loaded. */
  get containerReader(): ContainerReader {
    return this._containers ?? (this._reader ??= new ContainerReader(this.paths, new ContainerStore(this.paths)));
  }

  /** Containers' merged root filesystems outside their run (mount, cp, export). */
  get rootfs(): ContainerRootfs {
    return (this._rootfs ??= new (containerRootfs())(this.paths, this.containers, this.images));
  }

  /** system check: verify the store (and repair what can be repaired). */
  async check(opts: CheckOptions = {}): Promise<CheckReport> {
    return new (systemChecker())(this.paths, this.images, this.containers, opts).run();
  }
}
