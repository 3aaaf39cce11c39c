/**
 * The system calls Node lacks (mknod, xattrs, mount, flock, SOCK_SEQPACKET
 * sockets, shutdown, close-on-exec sweeps), from the small
 * N-API addon in native/. Loaded on first use so commands that never need it
 * pay nothing. Each wrapper throws a Node-style error (code, errno, syscall,
 * path) exactly like fs does.
 */
import type * as OS from 'node:os';
import * as path from 'node:path';
import * as fs from 'node:fs';

interface NativeBinding {
  mknod(p: string, mode: number, major: number, minor: number): number;
  lsetxattr(p: string, name: string, value: Buffer): number;
  lgetxattr(p: string, name: string): Buffer | number;
  llistxattr(p: string): Buffer | number;
  mount(source: string, target: string, fstype: string, flags: number, data: string): number;
  umount2(target: string, flags: number): number;
  flock(fd: number, op: number): number;
  unixSeqpacketConnect(p: string): number;
  shutdown(fd: number, how: number): number;
  sendEmpty(fd: number): number;
  outq(fd: number): number;
  cloexecFrom(minFd: number): number;
  unixDgramSend(p: string, data: Buffer): number;
  execve(file: string, argv: string[], env: string[]): number;
  writeFileAt(dirfd: number, name: string, data: Buffer, createMode: number, flags: number, uid: number, gid: number, mode: number, atime: number, mtime: number): number;
  writeFileQueued(slot: number, dirfd: number, name: string, data: Buffer, createMode: number, flags: number, uid: number, gid: number, mode: number, atime: number, mtime: number, id: number): number;
  fileQueueOpen(): number;
  fileQueueDrain(slot: number, release: boolean): number;
  symlinkAt(dirfd: number, target: string, name: string, flags: number, uid: number, gid: number, atime: number, mtime: number): number;
  x32Syscalls(): number;
  spawnMonitor(file: string, argv: string[], env: string[], cwd: string): [number, number, number] | number;
  waitpid(pid: number, block: boolean): number;
  removeTree(p: string): number;
  gzOpen(): GunzipHandle;
  gzPush(h: GunzipHandle, data: Buffer): number;
  gzGive(h: GunzipHandle, out: Buffer): void;
  gzQueued(h: GunzipHandle): number;
  gzEnd(h: GunzipHandle): void;
  gzNext(h: GunzipHandle): number;
  gzResult(h: GunzipHandle): [string, number];
  gzClose(h: GunzipHandle): void;
}

declare const gunzipHandle: unique symbol;
/** An open native gunzip (gunzipChunks). */
export type GunzipHandle = {readonly [gunzipHandle]: true};

/** node:os is not in Node's own startup snapshot: loaded on first use. */
const nodeOs = () => require('node:os') as typeof OS;

let binding: NativeBinding | undefined;
let errnoNames: Map<number, string> | undefined;

/**
 * The directory of the running bundle (dist/), set by src/cli/main.ts at
 * start-up. Not `__dirname`: in a V8 startup snapshot that is the build
 * machine's directory.
 */
let addonDir: string | undefined;

export function setAddonDir(dir: string): void {
  addonDir = dir;
}

/** Where the addon may be: named by SKIFF_NATIVE, beside the bundle (dist/), or in the dev tree. */
function candidates(): string[] {
  const rel = path.join('native', 'build', 'Release', 'skiff_native.node');
  const out: string[] = [];
  if (process.env.SKIFF_NATIVE) out.push(process.env.SKIFF_NATIVE);
  const base = addonDir ?? __dirname;
  out.push(path.join(base, 'skiff_native.node'));
  for (let dir = base, i = 0; i < 5; i++, dir = path.dirname(dir)) out.push(path.join(dir, rel));
  return out;
}

export function native(): NativeBinding {
  if (binding) return binding;
  if (embedded && !process.env.SKIFF_NATIVE) {
    binding = load(extractEmbedded(embedded));
    return binding;
  }
  for (const file of candidates()) {
    if (!fs.existsSync(file)) continue;
    binding = load(file);
    return binding;
  }
  throw new Error('skiff native addon not found: run `npm run build`');
}

function load(file: string): NativeBinding {
  const mod = {exports: {}} as {exports: NativeBinding};
  process.dlopen(mod, file);
  return mod.exports;
}

/**
 * The single binary carries the addon as an asset: on first use it is written
 * once to a private, content-addressed file ($XDG_RUNTIME_DIR/skiff-native-UID/,
 * else the temp dir) and loaded from there. `bytes` reads the asset (only when
 * the addon is first needed); `digest` is its sha256 in hex, fixed at build.
 */
export function useEmbeddedAddon(bytes: () => Uint8Array, digest: string): void {
  // Rootless skiff inside its user namespace is uid 0 there: name the directory after the user's own uid
  // (its owner, checked on use, shows as 0 inside). Only a name: the check in extractEmbedded still applies.
  const rl = process.env.SKIFF_ROOTLESS_UID;
  const uid = rl && /^\d+$/.test(rl) ? Number(rl) : typeof process.getuid === 'function' ? process.getuid() : 0;
  const run = process.env.XDG_RUNTIME_DIR;
  const base = run && path.isAbsolute(run) && fs.existsSync(run) ? run : nodeOs().tmpdir();
  const dir = path.join(base, `skiff-native-${uid}`);
  embedded = {bytes, dir, file: path.join(dir, `skiff_native-${digest.slice(0, 32)}.node`)};
}

let embedded: {bytes: () => Uint8Array; dir: string; file: string} | undefined;

/** The file the embedded addon is extracted to, when running as the single binary. */
export function embeddedAddonFile(): string | undefined {
  return embedded?.file;
}

function extractEmbedded(e: {bytes: () => Uint8Array; dir: string; file: string}): string {
  fs.mkdirSync(e.dir, {recursive: true, mode: 0o700});
  const st = fs.lstatSync(e.dir);
  const uid = typeof process.getuid === 'function' ? process.getuid() : st.uid;
  // Never load code from a directory someone else could write to.
  if (!st.isDirectory() || st.uid !== uid || (st.mode & 0o022) !== 0) throw new Error(`unsafe directory for the native addon: ${e.dir}`);
  const bytes = e.bytes();
  try {
    const cur = fs.lstatSync(e.file);
    if (cur.isFile() && cur.uid === uid && cur.size === bytes.length) return e.file;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const tmp = `${e.file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, bytes, {mode: 0o500});
  fs.renameSync(tmp, e.file);
  return e.file;
}

/** Injected by the SEA launcher, which extracts the embedded addon to a file first. */
export function setNativeBinding(b: NativeBinding): void {
  binding = b;
}

export function sysError(rc: number, syscall: string, p?: string): NodeJS.ErrnoException {
  const errno = -rc;
  errnoNames ??= new Map<number, string>(Object.entries(nodeOs().constants.errno).map(([k, v]) => [v, k]));
  const code = errnoNames.get(errno) ?? `E${errno}`;
  const err: NodeJS.ErrnoException = new Error(`${code}: ${syscall}${p ? ` '${p}'` : ''} failed (errno ${errno})`);
  err.code = code;
  err.errno = errno;
  err.syscall = syscall;
  if (p) err.path = p;
  return err;
}

function check(rc: number, syscall: string, p?: string): void {
  if (rc < 0) throw sysError(rc, syscall, p);
}

export function mknod(p: string, mode: number, major = 0, minor = 0): void {
  check(native().mknod(p, mode, major, minor), 'mknod', p);
}

export function lsetxattr(p: string, name: string, value: Buffer): void {
  check(native().lsetxattr(p, name, value), 'lsetxattr', p);
}

/** Returns undefined when the attribute is absent (ENODATA). */
export function lgetxattr(p: string, name: string): Buffer | undefined {
  const r = native().lgetxattr(p, name);
  if (typeof r === 'number') {
    if (-r === nodeOs().constants.errno.ENODATA) return undefined;
    throw sysError(r, 'lgetxattr', p);
  }
  return r;
}

export function llistxattr(p: string): string[] {
  const r = native().llistxattr(p);
  if (typeof r === 'number') throw sysError(r, 'llistxattr', p);
  return r.toString('utf8').split('\0').filter(Boolean);
}

export const MS = {RDONLY: 1, NOSUID: 2, NODEV: 4, NOEXEC: 8, REMOUNT: 32, BIND: 4096, REC: 16384, PRIVATE: 1 << 18} as const;
export const MNT = {FORCE: 1, DETACH: 2} as const;

export function mount(source: string, target: string, fstype: string, flags: number, data = ''): void {
  check(native().mount(source, target, fstype, flags, data), 'mount', target);
}

export function umount2(target: string, flags = 0): void {
  check(native().umount2(target, flags), 'umount2', target);
}

export const LOCK = {SH: 1, EX: 2, NB: 4, UN: 8} as const;

/** flock(2); returns false when LOCK_NB was given and the lock is held elsewhere. */
export function flock(fd: number, op: number): boolean {
  const rc = native().flock(fd, op);
  if (rc === 0) return true;
  if (-rc === nodeOs().constants.errno.EWOULDBLOCK) return false;
  throw sysError(rc, 'flock');
}

/**
 * Connects to an AF_UNIX SOCK_SEQPACKET socket (conmon's attach socket) and
 * returns a blocking, close-on-exec fd; close it with fs.close. Paths longer
 * than sockaddr_un's 108 bytes work: the directory is reached through
 * /proc/self/fd/N of an O_PATH descriptor, so only the socket's own name must be short.
 */
export function unixSeqpacketConnect(p: string): number {
  const fd = native().unixSeqpacketConnect(p);
  check(fd, 'connect', p);
  return fd;
}

export const SHUT = {RD: 0, WR: 1, RDWR: 2} as const;

/** shutdown(2) on a socket fd: SHUT.WR sends EOF to the peer; SHUT.RDWR also wakes a blocked read. */
export function shutdownSocket(fd: number, how: number): void {
  check(native().shutdown(fd, how), 'shutdown');
}

/**
 * Sends one zero-length message on a SOCK_SEQPACKET socket, without
 * blocking: the peer reads it as end of input (its read returns 0), and,
 * being a queued message, socketOutq() shows when it has been read.
 * Returns false when the peer's queue is full (EAGAIN).
 */
export function sendEmptyMessage(fd: number): boolean {
  const rc = native().sendEmpty(fd);
  if (rc === 0) return true;
  if (-rc === nodeOs().constants.errno.EAGAIN) return false;
  throw sysError(rc, 'send');
}

/** ioctl(SIOCOUTQ) on an AF_UNIX socket: bytes (of memory) sent and not yet read by the peer. */
export function socketOutq(fd: number): number {
  const n = native().outq(fd);
  check(n, 'ioctl');
  return n;
}

/**
 * execve(2): replaces this process (every Node thread) with file. Returns
 * only by throwing. env is given as NAME=VALUE strings.
 */
export function execve(file: string, argv: string[], env: NodeJS.ProcessEnv): never {
  const envp = Object.entries(env).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${v}`);
  const rc = native().execve(file, argv, envp);
  throw sysError(rc, 'execve', file);
}

/** A child started by spawnMonitor: its pid and the read ends of its sync pipe (fd 3) and stderr. */
export interface MonitorChild {
  pid: number;
  syncFd: number;
  /** Non-blocking: read what is there after a failure, never wait on it (conmon's daemon may keep it open). */
  errFd: number;
}

/**
 * Starts file (conmon) by vfork and execve with stdin and stdout on
 * /dev/null, stderr and fd 3 on fresh pipes, in cwd, every signal at its
 * default: what child_process.spawn did here, without forking Node's page
 * tables (1.5-2 ms). Node does not reap the child: waitChild(). Throws the
 * exec's error (ENOENT, EACCES) as fs would.
 */
export function spawnMonitor(file: string, argv: string[], env: NodeJS.ProcessEnv, cwd: string): MonitorChild {
  const envp = Object.entries(env).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${v}`);
  const r = native().spawnMonitor(file, argv, envp, cwd);
  if (typeof r === 'number') throw sysError(r, 'execve', file);
  return {pid: r[0], syncFd: r[1], errFd: r[2]};
}

/**
 * Reaps a child started by spawnMonitor: its exit status (128+N for signal
 * N), or undefined if it is still running and block is false (the addon's
 * -1; waitpid(2) itself never fails with EPERM).
 */
export function waitChild(pid: number, block: boolean): number | undefined {
  const r = native().waitpid(pid, block);
  if (r === -1) return undefined;
  check(r, 'waitpid');
  return r;
}

/**
 * rm -rf p: no symbolic link followed, no other file system entered (EXDEV:
 * a mount left inside is an error, where fs.rmSync would empty it), a
 * missing path is fine. See src/lib/state/remove-tree.ts.
 */
export function removeTreeNative(p: string): void {
  check(native().removeTree(p), 'rm', p);
}

/** Marks every descriptor >= minFd close-on-exec, so the next child inherits only what it is handed. */
export function cloexecFrom(minFd: number): void {
  check(native().cloexecFrom(minFd), 'close_range');
}

/**
 * Sends one datagram to an AF_UNIX SOCK_DGRAM socket (sd_notify's
 * $NOTIFY_SOCKET; '@name' is an abstract socket). Node's dgram module has
 * no unix sockets.
 */
export function unixDgramSend(p: string, data: Buffer): void {
  check(native().unixDgramSend(p, data), 'sendto', p);
}

/** writeFileAt flags: fchown to uid:gid, fchmod to mode (after the chown). */
export const WRITE_FILE = {CHOWN: 1, CHMOD: 2} as const;
const WRITE_FILE_STAGES = ['open', 'write', 'fchown', 'fchmod', 'futimens', 'close'];

/**
 * Creates the regular file `name` below the directory open on dirfd
 * (O_EXCL|O_NOFOLLOW; through openat2 with RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS
 * when the kernel has it), writes data, then fchown/fchmod (per flags) and
 * futimens, and closes it: one call instead of five or six for a layer's
 * small files. Times are seconds (fractional), as fs.futimesSync takes them.
 * Throws like fs does, naming the path `dirPath/name` (dirPath: what dirfd is open on).
 */
export function writeFileAt(
  dirfd: number,
  name: string,
  data: Buffer,
  createMode: number,
  flags: number,
  uid: number,
  gid: number,
  mode: number,
  atime: number,
  mtime: number,
  dirPath: string,
): void {
  noNul(name, 'name');
  const rc = native().writeFileAt(dirfd, name, data, createMode, flags, uid, gid, mode, atime, mtime);
  if (rc < 0) throw writeFileError(-rc, dirPath + '/' + name);
}

/** The addon's write-file failure code (stage << 12 | errno) as fs would throw it. */
function writeFileError(code: number, p: string): NodeJS.ErrnoException {
  return sysError(-(code & 0xfff), WRITE_FILE_STAGES[code >> 12] ?? 'writeFileAt', p);
}

/**
 * writeFileAt in two halves, for a layer's many small files: the file is
 * created here and now (the same open, with the same path rules; a failure
 * throws as writeFileAt's does), and the rest (write, fchown, fchmod,
 * futimens, close: calls on the new descriptor only, in that order) is done
 * by the addon's worker thread on a copy of data while the caller goes on.
 * `slot` is the caller's, from fileQueueOpen(); `id` names the job in
 * fileQueueDrain's failure. Returns true when an earlier job of this slot
 * has failed: call fileQueueDrain() then.
 */
export function writeFileQueued(
  slot: number,
  dirfd: number,
  name: string,
  data: Buffer,
  createMode: number,
  flags: number,
  uid: number,
  gid: number,
  mode: number,
  atime: number,
  mtime: number,
  id: number,
  dirPath: string,
): boolean {
  noNul(name, 'name');
  const rc = native().writeFileQueued(slot, dirfd, name, data, createMode, flags, uid, gid, mode, atime, mtime, id);
  if (rc < 0) throw sysError(rc, 'open', dirPath + '/' + name);
  return rc === 1;
}

/** A slot of the addon's file queue for one writer, or undefined when all are taken (then use writeFileAt). */
export function fileQueueOpen(): number | undefined {
  const slot = native().fileQueueOpen();
  return slot < 0 ? undefined : slot;
}

/**
 * Waits until every writeFileQueued job of `slot` is done (release: then
 * frees the slot). Returns undefined, or the slot's first failure since its
 * last drain: the job's id and the error (as fs would throw it, naming `name(id)`).
 */
export function fileQueueDrain(slot: number, release: boolean, name: (id: number) => string): {id: number; error: NodeJS.ErrnoException} | undefined {
  const rc = native().fileQueueDrain(slot, release);
  if (rc === 0) return undefined;
  const v = -rc;
  const id = Math.floor(v / 65536);
  return {id, error: writeFileError(v % 65536, name(id))};
}

/** The handle and buffers of every gunzip not yet closed (gunzipChunks). */
const openGunzips = new Set<object>();

/** Compressed bytes queued ahead of the gunzip thread (at most this many chunks and bytes). */
const GZ_AHEAD_CHUNKS = 4;
const GZ_AHEAD_BYTES = 2 << 20;
/** Size of the recycled input buffers (gunzipChunks' copyInput): readFileChunks' chunk size. */
const GZ_COPY_SIZE = 1 << 20;
/** Inflated blocks: this many buffers of this size, lent to the thread in turn. */
const GZ_BLOCKS = 4;
const GZ_BLOCK = 1 << 20;

/**
 * A gzip stream's inflated bytes, inflated and sha256-hashed by a thread of
 * the addon (gzOpen in native/skiff_native.c) rather than by node:zlib on
 * libuv's pool with node:crypto's hash on the JS thread. `done` gets the
 * sha256 (hex) and the length of the whole inflated stream once the
 * generator has returned. A corrupt stream throws an Error with .code
 * Z_DATA_ERROR after the blocks filled before the one in which inflate
 * noticed (that one, likely ending in garbage, is dropped), a truncated one
 * Z_BUF_ERROR "unexpected end of file" after all it inflated, as node:zlib
 * does. Returning early (or throwing) stops the thread.
 *
 * Contract, as readFileChunks': a yielded block (up to 1 MiB) is valid only
 * until the next one is requested; it is then lent to the thread again (a
 * few reused buffers: no fresh memory, no page faults, per block). Source
 * chunks must not change once yielded, unless opts.copyInput (a source that
 * reuses its buffer): then each is copied into one of a few recycled buffers.
 */
export async function* gunzipChunks(src: AsyncIterable<Buffer>, done: {sha256?: string; size?: number}, opts: {copyInput?: boolean} = {}): AsyncGenerator<Buffer> {
  const n = native();
  const h = n.gzOpen();
  // Every buffer the thread may touch stays referenced here until gzClose has joined it.
  const held: Buffer[] = [];
  let heldBytes = 0;
  const spare: Buffer[] = [];
  const lent: Buffer[] = [];
  // ... and from the module too, not only from this generator: one dropped
  // without return() would otherwise become garbage with its buffers, and V8
  // may free their memory before the handle's finalizer has joined the
  // thread that is still writing it (a SIGSEGV in crc32_z, seen under load).
  // Pinned, they live until gzClose or, never closed, until Node's teardown
  // runs the addon's cleanup hook (the join) before the heap goes.
  const pin = {h, held, lent};
  openGunzips.add(pin);
  const release = () => {
    const q = n.gzQueued(h);
    while (held.length > q) {
      const b = held.shift() as Buffer;
      heldBytes -= b.length;
      if (opts.copyInput && b.buffer.byteLength === GZ_COPY_SIZE) spare.push(Buffer.from(b.buffer, 0, GZ_COPY_SIZE));
    }
  };
  let outstanding: Buffer | undefined;
  try {
    for (let i = 0; i < GZ_BLOCKS; i++) {
      const b = Buffer.allocUnsafeSlow(GZ_BLOCK);
      lent.push(b);
      n.gzGive(h, b);
    }
    const it = src[Symbol.asyncIterator]();
    let srcDone = false;
    for (;;) {
      // Keep the thread fed while the caller works on the last block.
      while (!srcDone && held.length < GZ_AHEAD_CHUNKS && heldBytes < GZ_AHEAD_BYTES) {
        const r = await it.next();
        if (r.done) {
          srcDone = true;
          n.gzEnd(h);
        } else if (r.value.length > 0) {
          let chunk = r.value;
          if (opts.copyInput) {
            const own = chunk.length <= GZ_COPY_SIZE ? (spare.pop() ?? Buffer.allocUnsafeSlow(GZ_COPY_SIZE)) : Buffer.allocUnsafeSlow(chunk.length);
            chunk = own.subarray(0, chunk.copy(own));
          }
          held.push(chunk);
          heldBytes += chunk.length;
          n.gzPush(h, chunk);
        }
      }
      // The caller is done with the block it had: lend it again.
      if (outstanding) {
        lent.push(outstanding);
        n.gzGive(h, outstanding);
        outstanding = undefined;
      }
      const len = n.gzNext(h);
      release();
      if (len < 0) {
        if (srcDone) break;
        continue;
      }
      outstanding = lent.shift() as Buffer;
      yield outstanding.subarray(0, len);
    }
    const [sha256, size] = n.gzResult(h);
    done.sha256 = sha256;
    done.size = size;
  } finally {
    n.gzClose(h);
    openGunzips.delete(pin);
  }
}

/**
 * C strings end at the first NUL: a name or link target with one would be
 * cut short by the addon (another file, another target) where fs.* refuses
 * it. Refuse it the same way (ERR_INVALID_ARG_VALUE).
 */
function noNul(s: string, what: string): void {
  if (s.includes('\0')) throw Object.assign(new TypeError(`The argument '${what}' must be a string without null bytes. Received ${JSON.stringify(s)}`), {code: 'ERR_INVALID_ARG_VALUE'});
}

const SYMLINK_STAGES = ['symlink', '', 'lchown', '', 'lutimes'];

/**
 * symlinkat(target, dirfd, name), then lchown (flags & WRITE_FILE.CHOWN)
 * and lutimes of the new link, in one call; nothing follows the link.
 * name's parent directories must already be resolved by the caller.
 * Errors name `dirPath/name`, as writeFileAt's.
 */
export function symlinkAt(dirfd: number, target: string, name: string, flags: number, uid: number, gid: number, atime: number, mtime: number, dirPath: string): void {
  noNul(target, 'target');
  noNul(name, 'name');
  const rc = native().symlinkAt(dirfd, target, name, flags, uid, gid, atime, mtime);
  if (rc < 0) throw sysError(-(-rc & 0xfff), SYMLINK_STAGES[-rc >> 12] || 'symlinkAt', dirPath + '/' + name);
}

export type X32Support = 'supported' | 'unsupported' | 'unknown';
let x32: X32Support | undefined;

/**
 * Whether this kernel executes x32 system calls: 'unsupported' only on a clean
 * ENOSYS (no CONFIG_X86_X32_ABI, or syscall.x32=N); 'unknown' off x86_64 or
 * when the probe child was killed or saw another error. The probe runs in a
 * short-lived child (a seccomp filter skiff runs under may kill it); the
 * answer is kept for the process, as it cannot change before a reboot.
 */
export function x32Syscalls(): X32Support {
  if (x32) return x32;
  const r = native().x32Syscalls();
  x32 = r === 1 ? 'supported' : r === 0 ? 'unsupported' : 'unknown';
  return x32;
}
