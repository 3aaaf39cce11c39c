/**
 * The engine facade: the one object commands talk to. It wires the services
 * (images, and later containers, volumes, networks) over one Paths object.
 * Services are created on first use so a command pays only for what it
 * touches.
 */
import {Paths} from '../state/paths';
import {ImageService} from '../image/service';
import {ContainerService} from '../container/service';
import {SystemChecker, type CheckOptions, type CheckReport} from '../system/check';

export interface EngineOptions {
  root?: string;
  runroot?: string;
  storageDriver?: string;
  env?: NodeJS.ProcessEnv;
}

export class Engine {
  readonly paths: Paths;
  readonly storageDriver: string;
  private _images?: ImageService;
  private _containers?: ContainerService;

  constructor(opts: EngineOptions = {}) {
    const env = opts.env ?? process.env;
    this.paths = new Paths({root: opts.root, runroot: opts.runroot, env});
    this.storageDriver = opts.storageDriver || env.SKIFF_STORAGE_DRIVER || 'overlay';
  }

  get images(): ImageService {
    return (this._images ??= new ImageService(this.paths, {containersUsing: (id) => this.containers.usingImage(id)}));
  }

  get containers(): ContainerService {
    return (this._containers ??= new ContainerService(this.paths, this.images));
  }

  /** system check: verify the store (and repair what can be repaired). */
  async check(opts: CheckOptions = {}): Promise<CheckReport> {
    return new SystemChecker(this.paths, this.images, this.containers, opts).run();
  }
}
