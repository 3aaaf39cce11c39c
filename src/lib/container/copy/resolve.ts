/**
 * Paths inside a container, resolved the way a chroot would resolve them,
 * but in userspace (Node has no openat2(RESOLVE_IN_ROOT)): component by
 * component with lstat/readlink, absolute symlink targets restarting at the
 * container's root and ".." stopping there. Whatever the container planted
 * (links to /, to ../../.., to the host's /etc), the result names something
 * inside the root.
 *
 * The answer is a relative "real" path (no symlinks left in it, except the
 * final component when not following). Callers then pin it with an O_PATH
 * descriptor (pinDir) and work below /proc/self/fd/N, so the kernel never
 * re-walks the container's path from the host's side.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {invalidInput, notFound} from '../../util/errors';

const MAX_HOPS = 40;
/** Linux's O_PATH (not in fs.constants). */
const O_PATH = 0o10000000;

export interface Resolved {
  /** Real path relative to the root ('' = the root itself). */
  rel: string;
  /** lstat of it, undefined when it does not exist (its parent does). */
  st?: fs.Stats;
}

/**
 * Resolve `p` inside `root`. followFinal: a symlink as the last component
 * is followed (within the root) too. A missing last component is reported
 * with st undefined; a missing parent is an error (as podman's "no such
 * file or directory").
 */
export function resolveInRoot(root: string, p: string, opts: {followFinal: boolean; display?: string}): Resolved {
  const display = opts.display ?? p;
  const pending = p.split('/').reverse();
  const real: string[] = [];
  let hops = 0;
  while (pending.length > 0) {
    const c = pending.pop() as string;
    if (c === '' || c === '.') continue;
    if (c === '..') {
      real.pop();
      continue;
    }
    const rel = [...real, c].join('/');
    const st = fs.lstatSync(path.join(root, rel), {throwIfNoEntry: false});
    const last = pending.every((x) => x === '' || x === '.');
    if (!st) {
      if (last) return {rel};
      throw notFound(`"${display}" could not be found on container: no such file or directory`);
    }
    if (st.isSymbolicLink() && (!last || opts.followFinal)) {
      if (++hops > MAX_HOPS) throw invalidInput(`resolving "${display}" in the container: too many levels of symbolic links`);
      const target = fs.readlinkSync(path.join(root, rel));
      if (target.startsWith('/')) real.length = 0;
      pending.push(...target.split('/').reverse());
      continue;
    }
    if (!last && !st.isDirectory()) throw invalidInput(`resolving "${display}" in the container: ${rel} is not a directory`);
    real.push(c);
    if (last) return {rel: real.join('/'), st};
  }
  const rel = real.join('/');
  return {rel, st: fs.lstatSync(path.join(root, rel))};
}

/**
 * Open the directory root/rel without following a symlink at any step the
 * resolver did not already check, and return its /proc/self/fd/N name and
 * a close function. A container that swaps the last component for a symlink
 * meanwhile makes this fail (ENOTDIR/ELOOP) instead of escaping.
 */
export function pinDir(root: string, rel: string): {dir: string; close: () => void} {
  const rootFd = fs.openSync(root, O_PATH | fs.constants.O_DIRECTORY);
  let fd = rootFd;
  try {
    for (const c of rel.split('/').filter(Boolean)) {
      const next = fs.openSync(`/proc/self/fd/${fd}/${c}`, O_PATH | fs.constants.O_DIRECTORY | fs.constants.O_NOFOLLOW);
      if (fd !== rootFd) fs.closeSync(fd);
      fd = next;
    }
  } catch (err) {
    if (fd !== rootFd) fs.closeSync(fd);
    fs.closeSync(rootFd);
    throw err;
  }
  if (fd !== rootFd) fs.closeSync(rootFd);
  const dir = `/proc/self/fd/${fd}`;
  return {dir, close: () => fs.closeSync(fd)};
}
