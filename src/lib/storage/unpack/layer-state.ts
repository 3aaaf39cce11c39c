/**
 * What the writer knows about the tree it is building. All paths are
 * "real" relative paths: the location on disk after scoped symlink
 * resolution, '' being the layer root.
 *
 * - dirs: paths verified (or created) to be real directories whose whole
 *   chain from the root contains no symlink. It spares an lstat per path
 *   component per entry. It is never trusted across a replacement: whatever
 *   removes or replaces a path calls forget(), which drops it and every
 *   cached path below it.
 * - written: entries of this layer (plus directories it created implicitly).
 *   Hardlinks may only point at these; apply-mode whiteouts never hide them.
 * - ancestors (apply mode only): directories holding something written by
 *   this layer, so an opaque marker keeps them while emptying lower content.
 * - dirTimes: directory mtimes, applied after all children are written.
 * - setgidDirs: directories with the setgid bit, where new files inherit the
 *   directory's group, so the root-owned fast path (no chown) does not apply.
 */
import * as fs from 'node:fs';

/** The setgid mode bit (fs.constants has no name for it). */
export const S_ISGID = 0o2000;

export class LayerState {
  readonly dirs = new Set<string>(['']);
  readonly written = new Set<string>();
  readonly ancestors: Set<string> | undefined;
  readonly dirTimes = new Map<string, [number, number]>();
  readonly setgidDirs = new Set<string>();
  /** The process umask, read once (mkdir/open modes are filtered by it). */
  readonly umask = process.umask();

  constructor(
    readonly root: string,
    trackAncestors: boolean,
  ) {
    this.ancestors = trackAncestors ? new Set<string>(['']) : undefined;
    if (fs.statSync(root).mode & S_ISGID) this.setgidDirs.add('');
  }

  abs(rel: string): string {
    return rel === '' ? this.root : this.root + '/' + rel;
  }

  markWritten(rel: string): void {
    this.written.add(rel);
    const anc = this.ancestors;
    if (!anc) return;
    for (let i = rel.lastIndexOf('/'); i > 0; i = rel.lastIndexOf('/', i - 1)) {
      const a = rel.slice(0, i);
      if (anc.has(a)) break;
      anc.add(a);
    }
  }

  /** rel was removed or replaced: drop it, and when it was a directory everything below it, from every cache. */
  forget(rel: string, wasDir: boolean): void {
    this.dirs.delete(rel);
    this.written.delete(rel);
    this.dirTimes.delete(rel);
    this.ancestors?.delete(rel);
    this.setgidDirs.delete(rel);
    if (!wasDir) return;
    const prefix = rel === '' ? '' : rel + '/';
    for (const set of [this.dirs, this.written, this.ancestors, this.setgidDirs]) {
      if (!set) continue;
      for (const p of set) if (p.startsWith(prefix) && p !== '') set.delete(p);
    }
    for (const p of this.dirTimes.keys()) if (p.startsWith(prefix)) this.dirTimes.delete(p);
  }

  /** Removes whatever is at rel without following a symlink there (fs.rmSync never follows links). */
  remove(rel: string, st: fs.Stats): void {
    const wasDir = st.isDirectory();
    if (wasDir) fs.rmSync(this.abs(rel), {recursive: true, force: true});
    else fs.unlinkSync(this.abs(rel));
    this.forget(rel, wasDir);
  }
}
