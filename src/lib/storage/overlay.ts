/**
 * Container root filesystems: an overlayfs mount of the image's layer diffs
 * (read-only lowerdirs) under a per-container upperdir/workdir, or, where
 * overlayfs cannot mount (the vfs driver), a private copy of the layers with
 * their whiteouts applied.
 *
 * Mount options follow containers/storage's defaults: lowerdirs top-first,
 * `index=off` (a container's upper is never shared, and index=on would
 * refuse a remount after a crash left the upper "in use"), `userxattr` when
 * not root (overlay in a user namespace), MS_NODEV on the mount (devices
 * come from the runtime's /dev, never from an image), `volatile` only when
 * asked for: it skips syncs, so a crash can lose the upper's contents.
 *
 * Page limit: mount(2) copies at most one page of option data. When the
 * absolute paths do not fit (many layers, a deep --root), each directory is
 * named through a descriptor this process holds open, /proc/self/fd/N, which
 * the kernel resolves while parsing the options; the descriptors are closed
 * once the mount exists (overlayfs keeps its own references). This needs no
 * chdir (process-wide, unsafe while libuv's threads resolve paths) and no
 * helper process. It fits about 200 lowerdirs in a 4 KiB page, beyond the
 * 128 layers docker and containers/storage promise.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {errnoCode, isSkiffError, messageOf, storageError} from '../util/errors';
import {lgetxattr, llistxattr, lsetxattr, mknod, mount, umount2, MNT, MS} from '../util/native';
import {log} from '../util/log';
import {classifyWhiteout, OPAQUE_MARKER, isOverlayPrivateXattr} from './unpack/whiteout';
import {removeTree} from '../state/remove-tree';
import {inUserns} from '../rootless/userns';

/** The smallest page size Linux runs with; the option data must fit in one page, with its NUL. */
export const MOUNT_DATA_LIMIT = 4096 - 1;

/** overlayfs refuses more lower layers than this (OVL_MAX_STACK). */
export const MAX_LOWER_LAYERS = 500;

export interface RootfsMount {
  /** Layer diff directories, base layer first (the order of the image's layers). */
  layers: string[];
  /** The container's writable layer and overlay's scratch directory (same filesystem). */
  upper: string;
  work: string;
  /** Mount point (created if missing). */
  target: string;
  /** Skip syncs in the upper (faster, but a crash may lose the container's changes). Default false. */
  volatile?: boolean;
  /** Mount read-only. */
  readOnly?: boolean;
  /** MS_NODEV on the mount (default true, as podman's storage.conf "nodev"). */
  nodev?: boolean;
  /** Lower directory used when the image has no layers (default: "empty" beside upper). */
  emptyLower?: string;
  /** overlay in a user namespace: trusted.* xattrs are unavailable (default: not uid 0). */
  userxattr?: boolean;
}

/** What mountRootfs passes to mount(2), exposed for tests and debug logs. */
export interface OverlayMountData {
  data: string;
  /** Descriptors to close after the mount, when paths were replaced by /proc/self/fd/N. */
  fds: number[];
}

function optionList(m: RootfsMount): string[] {
  const opts = ['index=off'];
  const userxattr = m.userxattr ?? (inUserns() || (typeof process.getuid === 'function' && process.getuid() !== 0));
  if (userxattr) opts.push('userxattr');
  if (m.volatile) opts.push('volatile');
  return opts;
}

/** overlayfs splits lowerdir on ':' and the options on ','; such paths are passed as /proc/self/fd/N instead. */
function plainPathOk(p: string): boolean {
  return !/[:,\\\n]/.test(p);
}

function joinData(lowers: string[], upper: string, work: string, opts: string[]): string {
  return [`lowerdir=${lowers.join(':')}`, `upperdir=${upper}`, `workdir=${work}`, ...opts].join(',');
}

/**
 * The option string for mount(2): absolute paths when they fit in a page,
 * else /proc/self/fd/N names for descriptors opened here (the caller closes
 * them after the mount). Lowerdirs are top-first, as overlayfs wants them.
 */
export function overlayMountData(m: RootfsMount, lowers: string[]): OverlayMountData {
  if (lowers.length > MAX_LOWER_LAYERS) throw storageError(`cannot mount ${lowers.length} layers: overlayfs allows at most ${MAX_LOWER_LAYERS}`);
  const top = [...lowers].reverse().map((l) => path.resolve(l));
  const upper = path.resolve(m.upper);
  const work = path.resolve(m.work);
  const opts = optionList(m);
  const plain = joinData(top, upper, work, opts);
  if (Buffer.byteLength(plain) <= MOUNT_DATA_LIMIT && [...top, upper, work].every(plainPathOk)) return {data: plain, fds: []};

  const fds: number[] = [];
  try {
    const viaFd = (dir: string) => {
      const fd = fs.openSync(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
      fds.push(fd);
      return `/proc/self/fd/${fd}`;
    };
    const data = joinData(top.map(viaFd), viaFd(upper), viaFd(work), opts);
    if (Buffer.byteLength(data) > MOUNT_DATA_LIMIT) {
      throw storageError(`cannot mount ${lowers.length} layers: the overlay mount options do not fit in one page even with short names`);
    }
    return {data, fds};
  } catch (err) {
    for (const fd of fds) fs.closeSync(fd);
    throw err;
  }
}

/**
 * Mount the container's root filesystem at target. The upper and work
 * directories are created if missing; they must be on one filesystem.
 * Mounting over an existing mount is refused (the caller decides from
 * isMounted whether to reuse it).
 */
export function mountRootfs(m: RootfsMount): void {
  if (m.layers.length === 0 && !m.emptyLower) m = {...m, emptyLower: path.join(path.dirname(path.resolve(m.upper)), 'empty')};
  let lowers = m.layers;
  if (lowers.length === 0) {
    fs.mkdirSync(m.emptyLower as string, {recursive: true, mode: 0o755});
    lowers = [m.emptyLower as string];
  }
  let top: fs.Stats | undefined;
  for (const l of lowers) {
    top = fs.statSync(l, {throwIfNoEntry: false});
    if (!top?.isDirectory()) throw storageError(`layer directory ${l} is missing`);
  }
  // The merged root shows the upper's owner and mode: a new upper takes the image's (as containers/storage does).
  if (!fs.existsSync(m.upper)) {
    fs.mkdirSync(m.upper, {recursive: true, mode: 0o755});
    if (top && m.layers.length > 0) {
      fs.chownSync(m.upper, top.uid, top.gid);
      fs.chmodSync(m.upper, top.mode & 0o7777);
    }
  }
  for (const dir of [m.work, m.target]) fs.mkdirSync(dir, {recursive: true, mode: 0o755});
  if (isMounted(m.target)) throw storageError(`${m.target} is already a mount point`);
  // A volatile mount leaves this marker; overlayfs refuses to reuse the workdir while it exists.
  // (Checked first: fs.rmSync loads its rimraf module, ~0.2 ms, and a new work dir has no marker.)
  const marker = path.join(m.work, 'work', 'incompat', 'volatile');
  if (fs.existsSync(marker)) fs.rmSync(marker, {recursive: true, force: true});
  const {data, fds} = overlayMountData(m, lowers);
  let flags = 0;
  if (m.nodev !== false) flags |= MS.NODEV;
  if (m.readOnly) flags |= MS.RDONLY;
  log.debug(`overlay: mounting ${m.target} (${lowers.length} lower layers), data=${data}`);
  try {
    mount('overlay', m.target, 'overlay', flags, data);
  } catch (err) {
    throw storageError(`mounting overlay at ${m.target}: ${messageOf(err)}`, err);
  } finally {
    for (const fd of fds) fs.closeSync(fd);
  }
}

/** Octal escapes of /proc/self/mountinfo (space, tab, newline, backslash). */
function unescapeMountinfo(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** Mount points of this process's mount namespace, in mount order. */
export function mountPoints(mountinfo = fs.readFileSync('/proc/self/mountinfo', 'utf8')): string[] {
  const out: string[] = [];
  for (const line of mountinfo.split('\n')) {
    const f = line.split(' ');
    if (f.length > 4) out.push(unescapeMountinfo(f[4]));
  }
  return out;
}

function canonical(target: string): string {
  const abs = path.resolve(target);
  try {
    return fs.realpathSync(abs);
  } catch {
    return abs;
  }
}

/** Whether something is mounted at target (per /proc/self/mountinfo). */
export function isMounted(target: string): boolean {
  const want = canonical(target);
  return mountPoints().includes(want);
}

/**
 * Unmount target. Not mounted (EINVAL) or gone (ENOENT) is fine and returns
 * false. A busy mount (EBUSY: something still has files open in it) is
 * detached lazily as a last resort, with a warning. Stacked mounts are all
 * removed.
 */
export function unmountRootfs(target: string): boolean {
  let unmounted = false;
  for (let i = 0; i < 16; i++) {
    try {
      umount2(target, 0);
      unmounted = true;
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'EINVAL' || code === 'ENOENT') return unmounted;
      if (code !== 'EBUSY') throw storageError(`unmounting ${target}: ${messageOf(err)}`, err);
      log.warn(`${target} is busy: detaching it lazily`);
      try {
        umount2(target, MNT.DETACH);
        unmounted = true;
      } catch (err2) {
        const c2 = errnoCode(err2);
        if (c2 === 'EINVAL' || c2 === 'ENOENT') return unmounted;
        throw storageError(`unmounting ${target}: ${messageOf(err2)}`, err2);
      }
    }
    if (!isMounted(target)) return unmounted;
  }
  throw storageError(`unmounting ${target}: still mounted after repeated unmounts`);
}

// --- overlay support detection ----------------------------------------------

export interface OverlayProbe {
  supported: boolean;
  /** Why not, when unsupported. */
  reason?: string;
}

const probes = new Map<string, OverlayProbe>();

/**
 * Try a tiny overlay mount in a scratch directory under dir (root/tmp, so
 * the probe sees the store's filesystem: overlayfs cannot use another
 * overlay, or some network filesystems, as its upper layer). The lower holds
 * a file and a whiteout; the mount must show the file and hide the
 * whiteout. The result is cached per directory for this process.
 */
export function probeOverlay(dir: string): OverlayProbe {
  const key = path.resolve(dir);
  const cached = probes.get(key);
  if (cached) return cached;
  let result: OverlayProbe;
  let scratch: string | undefined;
  try {
    fs.mkdirSync(key, {recursive: true, mode: 0o700});
    // The pid in the name lets system check tell a killed probe's leftover from a running one.
    scratch = fs.mkdtempSync(path.join(key, `overlay-probe-${process.pid}-`));
    const base = path.join(scratch, 'base');
    fs.mkdirSync(base);
    fs.writeFileSync(path.join(base, 'visible'), 'x');
    fs.writeFileSync(path.join(base, 'hidden'), 'x');
    const top = path.join(scratch, 'top');
    fs.mkdirSync(top);
    mknod(path.join(top, 'hidden'), fs.constants.S_IFCHR, 0, 0);
    const merged = path.join(scratch, 'merged');
    mountRootfs({layers: [base, top], upper: path.join(scratch, 'upper'), work: path.join(scratch, 'work'), target: merged});
    try {
      const names = fs.readdirSync(merged).sort().join(',');
      result = names === 'visible' ? {supported: true} : {supported: false, reason: `whiteouts are not honoured (saw ${names || 'nothing'})`};
    } finally {
      unmountRootfs(merged);
    }
  } catch (err) {
    result = {supported: false, reason: messageOf(err)};
  } finally {
    if (scratch) {
      try {
        if (isMounted(path.join(scratch, 'merged'))) umount2(path.join(scratch, 'merged'), MNT.DETACH);
        removeTree(scratch);
      } catch (err) {
        log.debug(`overlay probe: cannot remove ${scratch}: ${messageOf(err)}`);
      }
    }
  }
  probes.set(key, result);
  return result;
}

export function overlaySupported(dir: string): boolean {
  return probeOverlay(dir).supported;
}

/**
 * The driver to use: vfs when asked, overlay when it can mount here, else
 * vfs with a warning (as podman falls back when the kernel or the backing
 * filesystem cannot do overlay).
 */
export function chooseStorageDriver(requested: 'overlay' | 'vfs', probeDir: string): 'overlay' | 'vfs' {
  if (requested === 'vfs') return 'vfs';
  const probe = probeOverlay(probeDir);
  if (probe.supported) return 'overlay';
  log.warn(`overlay storage is not usable here (${probe.reason}); falling back to vfs: containers get a full copy of their image`);
  return 'vfs';
}

// --- vfs: copies ---------------------------------------------------------------

/** overlayfs's own xattrs, in a lower layer (trusted.*) or a rootless one (user.overlay.*): never copied. */
function isOverlayXattr(name: string): boolean {
  return isOverlayPrivateXattr(name) || name.startsWith('user.overlay.');
}

function isOverlayWhiteout(st: fs.Stats): boolean {
  return st.isCharacterDevice() && st.rdev === 0;
}

function isOpaqueDir(abs: string): boolean {
  for (const name of ['trusted.overlay.opaque', 'user.overlay.opaque']) {
    try {
      if (lgetxattr(abs, name)?.toString() === 'y') return true;
    } catch (err) {
      const code = errnoCode(err);
      if (code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'EPERM' && code !== 'EACCES') throw err;
    }
  }
  return fs.existsSync(path.join(abs, OPAQUE_MARKER));
}

/** glibc's gnu_dev_major/minor for the 32 low bits of st_rdev, plus the high major bits. */
function devMajor(rdev: number): number {
  return ((rdev >>> 8) & 0xfff) | (Math.floor(rdev / 2 ** 32) & ~0xfff);
}

function devMinor(rdev: number): number {
  return (rdev & 0xff) | ((rdev >>> 12) & 0xfff00);
}

function copyXattrs(src: string, dst: string): void {
  let names: string[];
  try {
    names = llistxattr(src);
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOTSUP' || code === 'EOPNOTSUPP') return;
    throw err;
  }
  for (const name of names) {
    if (isOverlayXattr(name)) continue;
    const value = lgetxattr(src, name);
    if (value === undefined) continue;
    try {
      lsetxattr(dst, name, value);
    } catch (err) {
      const code = errnoCode(err);
      if (code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'EPERM') throw err;
      log.warn(`${dst}: cannot set xattr ${name}: ${code}`);
    }
  }
}

/** Owner, then xattrs (chown clears setuid bits and file capabilities), then mode and times unless deferred (directories). */
function copyMetadata(st: fs.Stats, src: string, dst: string, modeAndTimes: boolean): void {
  fs.lchownSync(dst, st.uid, st.gid);
  copyXattrs(src, dst);
  if (!modeAndTimes) return;
  if (!st.isSymbolicLink()) fs.chmodSync(dst, st.mode & 0o7777);
  fs.lutimesSync(dst, st.atime, st.mtime);
}

function removeAt(abs: string, st: fs.Stats): void {
  if (st.isDirectory()) removeTree(abs);
  else fs.unlinkSync(abs);
}

function emptyDir(dir: string): void {
  for (const child of fs.readdirSync(dir)) removeAt(path.join(dir, child), fs.lstatSync(path.join(dir, child)));
}

export interface CopyTreeOptions {
  /** Treat overlay whiteouts (0/0 char devices, .wh.* names) and opaque directories as deletions in dst. */
  applyWhiteouts?: boolean;
}

/**
 * Copy the tree under src into dst (a real directory), merging: what src
 * holds replaces what dst holds at the same path; directories merge.
 * Owners, modes, xattrs (but overlay's own), times, symlinks (never
 * followed), device nodes, fifos and hardlinks within src are preserved;
 * sockets are skipped. dst's parents are verified to be real directories
 * as the walk descends, so nothing is ever written through a symlink.
 */
export function copyTree(src: string, dst: string, opts: CopyTreeOptions = {}): void {
  const links = new Map<string, string>(); // "dev:ino" in src -> first copy in dst
  const dirTimes: Array<[string, fs.Stats]> = [];
  const walk = (srcDir: string, dstDir: string) => {
    const names = fs.readdirSync(srcDir);
    if (opts.applyWhiteouts) {
      // AUFS-style deletions first: they hide lower content only, so an entry this
      // layer adds under the same name is copied afterwards into the cleared place.
      for (const name of names) {
        const wh = classifyWhiteout(name);
        if (wh?.kind !== 'delete') continue;
        const victim = path.join(dstDir, wh.target);
        const st = fs.lstatSync(victim, {throwIfNoEntry: false});
        if (st) removeAt(victim, st);
      }
    }
    for (const name of names) {
      const s = path.join(srcDir, name);
      const d = path.join(dstDir, name);
      const st = fs.lstatSync(s);
      if (opts.applyWhiteouts) {
        if (classifyWhiteout(name)) continue; // .wh.* handled above; markers and AUFS metadata are never copied
        if (isOverlayWhiteout(st)) {
          const cur = fs.lstatSync(d, {throwIfNoEntry: false});
          if (cur) removeAt(d, cur);
          continue;
        }
      }
      const cur = fs.lstatSync(d, {throwIfNoEntry: false});
      if (st.isDirectory()) {
        if (cur && !cur.isDirectory()) removeAt(d, cur);
        if (!cur || !cur.isDirectory()) fs.mkdirSync(d, 0o700);
        else if (opts.applyWhiteouts && isOpaqueDir(s)) emptyDir(d);
        copyMetadata(st, s, d, false);
        walk(s, d);
        dirTimes.push([d, st]);
        continue;
      }
      if (cur) removeAt(d, cur);
      const key = `${st.dev}:${st.ino}`;
      if (st.nlink > 1 && !st.isDirectory()) {
        const first = links.get(key);
        if (first) {
          fs.linkSync(first, d);
          continue;
        }
      }
      if (st.isFile()) {
        fs.copyFileSync(s, d, fs.constants.COPYFILE_EXCL);
      } else if (st.isSymbolicLink()) {
        fs.symlinkSync(fs.readlinkSync(s), d);
      } else if (st.isCharacterDevice() || st.isBlockDevice() || st.isFIFO()) {
        mknod(d, st.mode & fs.constants.S_IFMT, devMajor(st.rdev), devMinor(st.rdev));
      } else {
        log.debug(`copy: skipping ${s}: sockets are not copied`);
        continue;
      }
      copyMetadata(st, s, d, true);
      if (st.nlink > 1) links.set(key, d);
    }
  };
  const rootSt = fs.lstatSync(src);
  if (!rootSt.isDirectory()) throw storageError(`${src} is not a directory`);
  if (opts.applyWhiteouts && isOpaqueDir(src)) emptyDir(dst);
  walk(src, dst);
  // Directory modes and times last, deepest first: writing into a directory changes its
  // mtime, and a read-only mode would stop an unprivileged copy from filling it.
  for (let i = dirTimes.length - 1; i >= 0; i--) {
    const [d, st] = dirTimes[i];
    fs.chmodSync(d, st.mode & 0o7777);
    fs.utimesSync(d, st.atime, st.mtime);
  }
}

/**
 * The vfs driver's rootfs: every layer copied into target in order, each
 * one's whiteouts and opaque directories deleting what the layers below
 * put there. target must be empty or absent. The root directory takes the
 * top layer's owner and mode, as overlayfs shows it. On failure the partial
 * copy is removed.
 */
export function buildVfsRootfs(layers: string[], target: string): void {
  fs.mkdirSync(target, {recursive: true, mode: 0o755});
  if (fs.readdirSync(target).length > 0) throw storageError(`cannot build a rootfs in ${target}: the directory is not empty`);
  try {
    for (const layer of layers) {
      const st = fs.lstatSync(layer, {throwIfNoEntry: false});
      if (!st?.isDirectory()) throw storageError(`layer directory ${layer} is missing`);
      copyTree(layer, target, {applyWhiteouts: true});
      fs.lchownSync(target, st.uid, st.gid);
      fs.chmodSync(target, st.mode & 0o7777);
    }
  } catch (err) {
    emptyDir(target);
    throw isSkiffError(err) ? err : storageError(`building the rootfs in ${target}: ${messageOf(err)}`, err);
  }
}
