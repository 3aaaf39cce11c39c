/**
 * The engine facade: the one object commands talk to. It wires the services
 * (images, and later containers, volumes, networks) over one Paths object.
 * Services are created on first use so a command pays only for what it
 * touches.
 */
import {Paths} from '../state/paths';
import {ImageService} from '../image/service';
import {ContainerService} from '../container/service';
import {ContainerRootfs} from '../container/rootfs';

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
  private _rootfs?: ContainerRootfs;

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

  /** Containers' merged root filesystems outside their run (mount, cp, export). */
  get rootfs(): ContainerRootfs {
    return (this._rootfs ??= new ContainerRootfs(this.paths, this.containers, this.images));
  }
}
