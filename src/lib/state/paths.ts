/**
 * Every location skiff reads or writes, in one place. Nothing else in the
 * code spells /var/lib, /run or /etc/containers: it asks a Paths object.
 *
 * Built from the global --root/--runroot flags, then the SKIFF_ROOT /
 * SKIFF_RUNROOT environment, then the defaults: rootful /var/lib/skiff and
 * /run/skiff; rootless $XDG_DATA_HOME/skiff (~/.local/share/skiff) and
 * $XDG_RUNTIME_DIR/skiff (falling back to /tmp/skiff-run-UID when the runtime
 * dir is unset, as podman does).
 *
 * Store locks live under root/locks, not runroot: they protect data in root,
 * so two invocations that share a root but name different runroots still
 * exclude each other.
 */
import * as path from 'node:path';
import type * as OS from 'node:os';
import {invalidInput} from '../util/errors';
import {rootlessIds} from '../rootless/userns';

/** node:os is not in Node's own startup snapshot: load it only when HOME is unset. */
const homedir = () => (require('node:os') as typeof OS).homedir();

/**
 * A child of root or runroot (absolute and normalized at construction;
 * path.normalize keeps "/" and a trailing slash) by a relative path that
 * needs no normalizing: concatenation. path.join normalizes character by
 * character, and in short commands it runs cold, in V8's interpreter (~10
 * µs a call); the store's paths are built dozens of times per command. The
 * result equals path.join's.
 */
export function under(base: string, rel: string): string {
  return base.endsWith('/') ? `${base}${rel}` : `${base}/${rel}`;
}

export interface PathOptions {
  root?: string;
  runroot?: string;
  uid?: number;
  env?: NodeJS.ProcessEnv;
  home?: string;
}

export class Paths {
  readonly root: string;
  readonly runroot: string;
  readonly rootless: boolean;
  /** Where per-user containers config lives (registries.conf, auth.json, certs.d). */
  readonly configHome: string;
  private readonly env: NodeJS.ProcessEnv;
  private readonly uid: number;

  constructor(opts: PathOptions = {}) {
    const env = opts.env ?? process.env;
    // Inside skiff's user namespace the process is uid 0: the user's own uid comes from the entry (rootless/userns.ts).
    const uid = opts.uid ?? rootlessIds(env)?.uid ?? process.getuid?.() ?? 0;
    const home = opts.home ?? env.HOME ?? homedir();
    this.env = env;
    this.uid = uid;
    this.rootless = uid !== 0;
    this.configHome = env.XDG_CONFIG_HOME || path.join(home, '.config');
    const root = opts.root || env.SKIFF_ROOT || (this.rootless ? path.join(env.XDG_DATA_HOME || path.join(home, '.local', 'share'), 'skiff') : '/var/lib/skiff');
    const runroot = opts.runroot || env.SKIFF_RUNROOT || (this.rootless ? (env.XDG_RUNTIME_DIR ? path.join(env.XDG_RUNTIME_DIR, 'skiff') : `/tmp/skiff-run-${uid}`) : '/run/skiff');
    for (const [flag, v] of [['--root', root], ['--runroot', runroot]] as const) {
      if (!path.isAbsolute(v)) throw invalidInput(`${flag} must be an absolute path: "${v}"`);
    }
    this.root = path.normalize(root);
    this.runroot = path.normalize(runroot);
  }

  // --- root: persistent store -------------------------------------------------
  get blobsDir(): string { return under(this.root, 'blobs/sha256'); }
  blob(hex: string): string { return path.join(this.blobsDir, hex); }
  get layersDir(): string { return under(this.root, 'layers'); }
  layerDir(chainHex: string): string { return path.join(this.layersDir, chainHex); }
  layerDiff(chainHex: string): string { return path.join(this.layersDir, chainHex, 'diff'); }
  layerRecord(chainHex: string): string { return path.join(this.layersDir, chainHex, 'layer.json'); }
  /** Where layers' compressed blobs are known to live (push skips and mounts from it). */
  get blobInfoCache(): string { return under(this.root, 'cache/blob-info.json'); }
  get imagesDir(): string { return under(this.root, 'images'); }
  get imagesIndex(): string { return under(this.root, 'images/images.json'); }
  get containersDir(): string { return under(this.root, 'containers'); }
  get volumesDir(): string { return under(this.root, 'volumes'); }
  get networksDir(): string { return under(this.root, 'networks'); }
  /** Scratch space on the store's filesystem, so finished work can be renamed into place. */
  get tmpDir(): string { return under(this.root, 'tmp'); }
  get locksDir(): string { return under(this.root, 'locks'); }
  /** The event log (events.log, and events.log.1 after a rotation). */
  get eventsLog(): string { return under(this.root, 'events/events.log'); }
  lockFile(name: string): string { return under(this.root, `locks/${name}.lock`); }

  // --- runroot: volatile state -------------------------------------------------
  get runContainersDir(): string { return under(this.runroot, 'containers'); }
  /** The OCI runtime's state directory (its --root): <id>/ per container it holds. */
  get runtimeStateDir(): string { return under(this.runroot, 'runtime'); }

  // --- configuration (read-only for skiff, except auth.json) --------------------
  /** registries.conf: CONTAINERS_REGISTRIES_CONF wins; else the user's file (rootless), else the system one. */
  registriesConfFiles(): string[] {
    if (this.env.CONTAINERS_REGISTRIES_CONF) return [this.env.CONTAINERS_REGISTRIES_CONF];
    const files = ['/etc/containers/registries.conf'];
    if (this.rootless) files.push(path.join(this.configHome, 'containers', 'registries.conf'));
    return files;
  }

  registriesConfDropInDirs(): string[] {
    if (this.env.CONTAINERS_REGISTRIES_CONF) return [];
    const dirs = ['/etc/containers/registries.conf.d'];
    if (this.rootless) dirs.push(path.join(this.configHome, 'containers', 'registries.conf.d'));
    return dirs;
  }

  /** auth.json default: REGISTRY_AUTH_FILE, else ${XDG_RUNTIME_DIR}/containers/auth.json as podman. */
  defaultAuthFile(): string {
    if (this.env.REGISTRY_AUTH_FILE) return this.env.REGISTRY_AUTH_FILE;
    if (this.env.XDG_RUNTIME_DIR) return path.join(this.env.XDG_RUNTIME_DIR, 'containers', 'auth.json');
    if (!this.rootless) return '/run/containers/0/auth.json';
    return path.join(this.configHome, 'containers', 'auth.json');
  }

  /** Credentials podman also reads, lowest priority last. */
  fallbackAuthFiles(): string[] {
    const home = this.env.HOME ?? homedir();
    return [
      path.join(this.configHome, 'containers', 'auth.json'),
      path.join(this.env.DOCKER_CONFIG || path.join(home, '.docker'), 'config.json'),
      path.join(home, '.dockercfg'),
    ];
  }

  /** certs.d directories searched for HOST[:PORT]/ CA files, in order. */
  certsDirs(): string[] {
    const dirs: string[] = [];
    if (this.rootless) dirs.push(path.join(this.configHome, 'containers', 'certs.d'));
    dirs.push('/etc/containers/certs.d', '/etc/docker/certs.d');
    return dirs;
  }

  get userId(): number { return this.uid; }
}
