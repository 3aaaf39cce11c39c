/**
 * The system calls Node lacks (mknod, xattrs, mount, flock), from the small
 * N-API addon in native/. Loaded on first use so commands that never need it
 * pay nothing. Each wrapper throws a Node-style error (code, errno, syscall,
 * path) exactly like fs does.
 */
import {constants} from 'node:os';
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
}

let binding: NativeBinding | undefined;
const errnoNames = new Map<number, string>(Object.entries(constants.errno).map(([k, v]) => [v, k]));

/** Where the addon may be: beside the bundle (dist/), in the dev tree, or named by SKIFF_NATIVE. */
function candidates(): string[] {
  const rel = path.join('native', 'build', 'Release', 'skiff_native.node');
  const out: string[] = [];
  if (process.env.SKIFF_NATIVE) out.push(process.env.SKIFF_NATIVE);
  out.push(path.join(__dirname, 'skiff_native.node'));
  for (let dir = __dirname, i = 0; i < 5; i++, dir = path.dirname(dir)) out.push(path.join(dir, rel));
  return out;
}

export function native(): NativeBinding {
  if (binding) return binding;
  for (const file of candidates()) {
    if (!fs.existsSync(file)) continue;
    const mod = {exports: {}} as {exports: NativeBinding};
    process.dlopen(mod, file);
    binding = mod.exports;
    return binding;
  }
  throw new Error('skiff native addon not found: run `npm run build`');
}

/** Injected by the SEA launcher, which extracts the embedded addon to a file first. */
export function setNativeBinding(b: NativeBinding): void {
  binding = b;
}

export function sysError(rc: number, syscall: string, p?: string): NodeJS.ErrnoException {
  const errno = -rc;
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
    if (-r === constants.errno.ENODATA) return undefined;
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
  if (-rc === constants.errno.EWOULDBLOCK) return false;
  throw sysError(rc, 'flock');
}
