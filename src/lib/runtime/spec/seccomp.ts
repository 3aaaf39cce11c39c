/**
 * Converts a seccomp profile in the containers-common / docker format
 * (defaultAction, defaultErrnoRet or defaultErrno, architectures or archMap,
 * syscalls with name|names, action, errnoRet|errno, args, includes and
 * excludes by caps, arches and minKernel) into the OCI linux.seccomp object
 * for one architecture and one capability set, with the semantics of
 * containers/common pkg/seccomp setupSeccomp:
 *
 * - archMap: the entry for the native architecture contributes it and its
 *   sub-architectures (x86_64 → x86, x32); no entry → libseccomp's native;
 * - a rule is skipped when excludes.arches has the arch, excludes.caps has
 *   any capability in the bounding set, includes.arches lacks the arch,
 *   includes.caps has a capability outside the bounding set, or
 *   includes.minKernel is newer than the running kernel;
 * - an errno name (defaultErrno / errno) wins over the number.
 *
 * One departure: when the caller knows the kernel cannot execute x32 system
 * calls (target.x32 === false), SCMP_ARCH_X32 is left out of the
 * architectures: no x32 call can run either way (the kernel answers ENOSYS;
 * without X32 in the filter, libseccomp kills the caller instead), and runc
 * compiles one architecture fewer (~9 ms of `runc create`).
 *
 * Pure: the profile text is read by seccomp-load.ts.
 */
import {invalidInput} from '../../util/errors';
import type {OciSeccomp, OciSeccompSyscall} from './oci-types';

interface Filter {
  caps?: string[];
  arches?: string[];
  minKernel?: string;
}

interface ProfileSyscall {
  name?: string;
  names?: string[];
  action: string;
  args?: Array<{index: number; value: number; valueTwo?: number; op: string}> | null;
  includes?: Filter;
  excludes?: Filter;
  errnoRet?: number;
  errno?: string;
}

export interface SeccompProfile {
  defaultAction: string;
  defaultErrnoRet?: number;
  defaultErrno?: string;
  architectures?: string[];
  archMap?: Array<{architecture: string; subArchitectures?: string[] | null}>;
  syscalls?: ProfileSyscall[] | null;
  flags?: string[];
}

export interface SeccompTarget {
  /** Go architecture name, as the profile's includes/excludes use it: amd64, arm64, s390x... */
  arch: string;
  /** The container's bounding set (CAP_* names). */
  capabilities: readonly string[];
  /** Running kernel release ("6.1.0-18-amd64"); minKernel rules apply only when given. */
  kernel?: string;
  /** false: the kernel cannot execute x32 system calls (probed), so SCMP_ARCH_X32 is dropped. */
  x32?: boolean;
}

/** containers/common nativeToSeccomp. */
const NATIVE_TO_SECCOMP: Record<string, string> = {
  amd64: 'SCMP_ARCH_X86_64',
  arm64: 'SCMP_ARCH_AARCH64',
  mips64: 'SCMP_ARCH_MIPS64',
  mips64n32: 'SCMP_ARCH_MIPS64N32',
  mipsel64: 'SCMP_ARCH_MIPSEL64',
  mipsel64n32: 'SCMP_ARCH_MIPSEL64N32',
  s390x: 'SCMP_ARCH_S390X',
};

/** Node's process.arch → the Go name seccomp profiles use. */
export function goArch(nodeArch: string = process.arch): string {
  return ({x64: 'amd64', ia32: '386', ppc64: 'ppc64le', mips64el: 'mipsel64', loong64: 'loong64'} as Record<string, string>)[nodeArch] ?? nodeArch;
}

/** Linux generic errno values (asm-generic/errno-base.h, errno.h) that profiles name. */
const ERRNO: Record<string, number> = {
  EPERM: 1, ENOENT: 2, ESRCH: 3, EINTR: 4, EIO: 5, ENXIO: 6, E2BIG: 7, ENOEXEC: 8, EBADF: 9, ECHILD: 10, EAGAIN: 11, ENOMEM: 12,
  EACCES: 13, EFAULT: 14, EBUSY: 16, EEXIST: 17, EXDEV: 18, ENODEV: 19, ENOTDIR: 20, EISDIR: 21, EINVAL: 22, ENFILE: 23, EMFILE: 24,
  ENOTTY: 25, EFBIG: 27, ENOSPC: 28, ESPIPE: 29, EROFS: 30, EMLINK: 31, EPIPE: 32, ERANGE: 34, ENOSYS: 38, EOPNOTSUPP: 95, ENOTSUP: 95,
  EAFNOSUPPORT: 97, EPROTONOSUPPORT: 93,
};

function errnoOf(name: string | undefined, num: number | undefined, where: string): number | undefined {
  if (!name) return num;
  if (/^\d+$/.test(name)) return Number(name);
  const v = ERRNO[name];
  if (v === undefined) throw invalidInput(`seccomp profile: unknown errno ${name} in ${where}`);
  return v;
}

function kernelAtLeast(kernel: string, min: string): boolean {
  const parse = (s: string) => (/^(\d+)\.(\d+)/.exec(s) ?? ['', '0', '0']).slice(1).map(Number);
  const [a, b] = parse(kernel);
  const [c, d] = parse(min);
  return a > c || (a === c && b >= d);
}

function applies(call: ProfileSyscall, t: SeccompTarget, caps: ReadonlySet<string>): boolean {
  const inc = call.includes ?? {};
  const exc = call.excludes ?? {};
  if (exc.arches?.includes(t.arch)) return false;
  if (exc.caps?.some((c) => caps.has(c))) return false;
  if (inc.arches?.length && !inc.arches.includes(t.arch)) return false;
  if (inc.caps?.some((c) => !caps.has(c))) return false;
  if (inc.minKernel && t.kernel && !kernelAtLeast(t.kernel, inc.minKernel)) return false;
  return true;
}

export function convertSeccompProfile(profile: SeccompProfile, target: SeccompTarget): OciSeccomp | undefined {
  if (typeof profile !== 'object' || profile === null || Array.isArray(profile)) throw invalidInput('seccomp profile: not a JSON object');
  const calls = profile.syscalls ?? [];
  if (!profile.defaultAction && calls.length === 0) return undefined; // podman: nothing to enforce
  if (profile.architectures?.length && profile.archMap?.length) {
    throw invalidInput("seccomp profile: 'architectures' and 'archMap' were specified, use either 'architectures' or 'archMap'");
  }
  const out: OciSeccomp = {defaultAction: profile.defaultAction, syscalls: []};
  const defErrno = errnoOf(profile.defaultErrno, profile.defaultErrnoRet, 'defaultErrno');
  if (defErrno !== undefined) out.defaultErrnoRet = defErrno;
  let arches = profile.architectures?.length ? [...profile.architectures] : [];
  const native = NATIVE_TO_SECCOMP[target.arch];
  const entry = native ? profile.archMap?.find((a) => a.architecture === native) : undefined;
  if (entry) arches = [entry.architecture, ...(entry.subArchitectures ?? [])];
  if (target.x32 === false) arches = arches.filter((a) => a !== 'SCMP_ARCH_X32');
  if (arches.length) out.architectures = arches;
  if (profile.flags?.length) out.flags = [...profile.flags];
  const caps = new Set(target.capabilities);
  for (const [i, call] of calls.entries()) {
    if (!applies(call, target, caps)) continue;
    if (call.name && call.names?.length) throw invalidInput(`seccomp profile: syscalls[${i}] has both 'name' and 'names', use either`);
    const names = call.name ? [call.name] : (call.names ?? []);
    if (names.length === 0) continue;
    const rule: OciSeccompSyscall = {names: [...names], action: call.action};
    const errno = errnoOf(call.errno, call.errnoRet, `syscalls[${i}]`);
    if (errno !== undefined) rule.errnoRet = errno;
    if (call.args?.length) rule.args = call.args.map((a) => ({index: a.index, value: a.value, valueTwo: a.valueTwo ?? 0, op: a.op}));
    out.syscalls.push(rule);
  }
  return out;
}
