/**
 * Symlink rule: symlinks already in the tree are resolved *scoped to the
 * layer root*, the way containerd's fs.RootPath does, instead of rejecting
 * every path that crosses one.
 *
 * Why this choice: in 'apply' mode the tree holds the lower layers, and a
 * layer may legitimately write below a directory symlink of a lower layer
 * (e.g. lib -> usr/lib); docker and podman follow it there (inside a
 * chroot). Rejecting would refuse real images; following symlinks with the
 * kernel would let `evil -> /etc` + `evil/passwd` write the host's
 * /etc/passwd. Resolving in userspace, as if the root were "/", gives the
 * chroot's answer without a chroot: absolute targets restart at the root,
 * ".." stops at the root, and nothing can reach outside it.
 *
 * Only parent directories are resolved. The final component of a member is
 * never followed: the writer lstat()s it, replaces symlinks rather than
 * writing through them, and creates files with O_EXCL|O_NOFOLLOW.
 *
 * The walk is race-free only because nothing else writes into an unpacking
 * layer (the caller owns dest until the layer is marked complete); it is not
 * a defence against a concurrent attacker on the same tree.
 */
import * as fs from 'node:fs';
import {entryError} from './entry-error';
import {S_ISGID, type LayerState} from './layer-state';

/** Linux's limit (MAXSYMLINKS). */
export const MAX_SYMLINK_HOPS = 40;

export interface ResolveOptions {
  /** Create missing directories (0755, root-owned) as docker does for implicit parents. */
  create: boolean;
  /** Member name, for error messages. */
  name: string;
  /** Treat a non-directory in the path as "missing" instead of an error (whiteouts under a whited-out dir). */
  nonDirIsMissing?: boolean;
}

/**
 * Resolves the directory named by comps[0..count) inside the layer root and
 * returns its real relative path, or undefined when it does not exist and
 * create is false. Every returned path is a real directory inside the root.
 */
export function resolveDirInRoot(state: LayerState, comps: readonly string[], count: number, opts: ResolveOptions): string | undefined {
  const pending: string[] = [];
  for (let i = count - 1; i >= 0; i--) pending.push(comps[i]);
  let real = '';
  let hops = 0;
  while (pending.length > 0) {
    const c = pending.pop() as string;
    if (c === '' || c === '.') continue;
    if (c === '..') {
      // Scoped: ".." of the root is the root, exactly as in a chroot.
      const i = real.lastIndexOf('/');
      real = i < 0 ? '' : real.slice(0, i);
      continue;
    }
    const next = real === '' ? c : real + '/' + c;
    if (state.dirs.has(next)) {
      real = next;
      continue;
    }
    const abs = state.abs(next);
    // Creating: try mkdir first (in a fresh layer the parent is usually
    // missing; one syscall instead of a failed lstat and a mkdir). mkdir
    // never follows a symlink or reuses anything at its last component:
    // whatever is there (EEXIST) goes through the lstat below, as before.
    // Its parent `real` is a verified real directory.
    const made = opts.create && mkdirIfAbsent(abs);
    const st = made ? undefined : fs.lstatSync(abs, {throwIfNoEntry: false});
    if (st === undefined) {
      if (!opts.create) return undefined;
      if (!made) fs.mkdirSync(abs, 0o755);
      // 0755 whatever the umask; in a setgid parent mkdir adds S_ISGID, which chmod clears.
      if (state.umask & 0o755 || state.setgidDirs.has(real)) fs.chmodSync(abs, 0o755);
      state.dirs.add(next);
      state.markWritten(next);
      real = next;
    } else if (st.isDirectory()) {
      state.dirs.add(next);
      if (st.mode & S_ISGID) state.setgidDirs.add(next);
      real = next;
    } else if (st.isSymbolicLink()) {
      if (++hops > MAX_SYMLINK_HOPS) throw entryError(opts.name, 'too many levels of symbolic links');
      const target = fs.readlinkSync(abs);
      if (target.startsWith('/')) real = '';
      const parts = target.split('/');
      for (let i = parts.length - 1; i >= 0; i--) pending.push(parts[i]);
    } else {
      if (opts.nonDirIsMissing) return undefined;
      throw entryError(opts.name, `parent ${JSON.stringify(next)} is not a directory`);
    }
  }
  return real;
}

/**
 * Hardlink-target rule for parents: every component must already be a real
 * directory inside the root. Unlike resolveDirInRoot nothing is followed or
 * created, so a target reached through a symlink is refused.
 */
export function isRealDirChain(state: LayerState, comps: readonly string[], count: number): boolean {
  let real = '';
  for (let i = 0; i < count; i++) {
    real = real === '' ? comps[i] : real + '/' + comps[i];
    if (state.dirs.has(real)) continue;
    const st = fs.lstatSync(state.abs(real), {throwIfNoEntry: false});
    if (st === undefined || !st.isDirectory()) return false;
    state.dirs.add(real);
  }
  return true;
}

/** mkdir(abs, 0755): true when it created it, false when something is already there (EEXIST); other errors throw. */
function mkdirIfAbsent(abs: string): boolean {
  try {
    fs.mkdirSync(abs, 0o755);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}
