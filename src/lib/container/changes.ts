/**
 * A container's changes against its image, read from the overlay upper
 * directory (podman diff): an overlay whiteout (a 0/0 character device) is
 * a deletion; anything else in the upper is an addition when the image has
 * nothing at that path, else a change (a directory that is only there
 * because something below it changed shows as changed, as in podman). An
 * opaque directory (trusted.overlay.opaque=y) hides everything the image
 * had below it: those entries are reported deleted.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {errnoCode} from '../util/errors';
import {lgetxattr} from '../util/native';
import {classifyWhiteout} from '../storage/unpack/whiteout';

export type ChangeKind = 'A' | 'C' | 'D';

export interface Change {
  /** Absolute path inside the container. */
  path: string;
  kind: ChangeKind;
}

export function isWhiteoutDevice(st: fs.Stats): boolean {
  return st.isCharacterDevice() && st.rdev === 0;
}

export function isOpaqueDir(abs: string): boolean {
  for (const name of ['trusted.overlay.opaque', 'user.overlay.opaque']) {
    try {
      if (lgetxattr(abs, name)?.toString() === 'y') return true;
    } catch (err) {
      const code = errnoCode(err);
      if (code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'EPERM' && code !== 'EACCES' && code !== 'ENOENT') throw err;
    }
  }
  return false;
}

/** Layer diff directories as overlayfs stacks them: what the image shows at `rel`. */
export class ImageView {
  /** Top layer first. */
  private readonly layers: string[];
  constructor(layersBaseFirst: string[]) {
    this.layers = [...layersBaseFirst].reverse();
  }

  /** The layer directory (absolute path of rel in it) that provides rel, or undefined when the image has nothing there. */
  locate(rel: string): string | undefined {
    const comps = rel.split('/').filter(Boolean);
    if (comps.length === 0) return this.layers[0];
    for (const layer of this.layers) {
      let abs = layer;
      for (let i = 0; i < comps.length; i++) {
        abs = path.join(abs, comps[i]);
        const st = fs.lstatSync(abs, {throwIfNoEntry: false});
        if (!st) {
          // Missing here: lower layers may have it, unless a directory above it in this layer is opaque.
          for (let j = i; j >= 1; j--) if (isOpaqueDir(path.join(layer, ...comps.slice(0, j)))) return undefined;
          break;
        }
        if (isWhiteoutDevice(st)) return undefined;
        if (i === comps.length - 1) return abs;
        if (!st.isDirectory()) return undefined; // a non-directory hides whatever lower layers have below that name
      }
    }
    return undefined;
  }

  /** Names the image has directly below the directory rel. */
  children(rel: string): string[] {
    const names = new Set<string>();
    const comps = rel.split('/').filter(Boolean);
    for (const layer of this.layers) {
      const abs = path.join(layer, ...comps);
      let list: string[];
      try {
        list = fs.readdirSync(abs);
      } catch {
        continue;
      }
      for (const n of list) if (!classifyWhiteout(n)) names.add(n);
    }
    return [...names].filter((n) => this.locate(rel ? `${rel}/${n}` : n) !== undefined).sort();
  }
}

/**
 * Where the runtime mounts things into a container: runc creates missing
 * mount points in the upper directory (an empty /etc/hosts...). podman
 * leaves these exact paths out of diff, and commit leaves out such empty
 * stubs; so does skiff.
 */
export function mountDestinations(mounts: ReadonlyArray<{destination: string}>): Set<string> {
  return new Set(['/etc/hosts', '/etc/hostname', '/etc/resolv.conf', '/run/.containerenv', '/run/podman-init', '/proc', '/sys', '/dev', '/dev/shm', '/dev/pts', '/dev/mqueue', '/sys/fs/cgroup', ...mounts.map((m) => m.destination.replace(/\/+$/, '') || '/')]);
}

/** The changes of an upper directory against the image's layers, sorted by path; paths in `exclude` (exact) are left out. */
export function upperChanges(upper: string, layersBaseFirst: string[], exclude: ReadonlySet<string> = new Set()): Change[] {
  const image = new ImageView(layersBaseFirst);
  const out: Change[] = [];
  const walk = (rel: string) => {
    const abs = rel ? path.join(upper, rel) : upper;
    let names: string[];
    try {
      names = fs.readdirSync(abs).sort();
    } catch {
      return;
    }
    for (const n of names) {
      const childRel = rel ? `${rel}/${n}` : n;
      const st = fs.lstatSync(path.join(upper, childRel), {throwIfNoEntry: false});
      if (!st) continue;
      if (isWhiteoutDevice(st)) {
        out.push({path: '/' + childRel, kind: 'D'});
        continue;
      }
      const inImage = image.locate(childRel) !== undefined;
      out.push({path: '/' + childRel, kind: inImage ? 'C' : 'A'});
      if (st.isDirectory()) {
        if (inImage && isOpaqueDir(path.join(upper, childRel))) {
          const present = new Set(fs.readdirSync(path.join(upper, childRel)));
          for (const c of image.children(childRel)) if (!present.has(c)) out.push({path: `/${childRel}/${c}`, kind: 'D'});
        }
        walk(childRel);
      }
    }
  };
  walk('');
  return out.filter((c) => !exclude.has(c.path)).sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
