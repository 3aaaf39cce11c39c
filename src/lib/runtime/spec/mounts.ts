/**
 * config.json mounts: the kernel filesystems every container gets (the
 * runtime-tools generator defaults podman starts from, with podman's
 * changes: /dev/shm sized by --shm-size, /sys/fs/cgroup read-only, both
 * read-write under --privileged), the per-container /etc/hosts,
 * /etc/hostname and /etc/resolv.conf, the user's mounts (which replace a
 * default at the same destination), and --read-only's writable tmpfs dirs.
 * Sorted so a parent is always mounted before anything below it.
 */
import * as path from 'node:path';
import type {MountRequest} from '../../container/types';
import type {OciMount} from './oci-types';

/** A user mount after the engine resolved it on the host; a volume is a bind of its data directory. */
export type ResolvedMount =
  | {type: 'bind'; source: string; destination: string; options: string[]}
  | {type: 'tmpfs'; destination: string; options: string[]};

/** containers/common DefaultShmSize, 65536k. */
export const DEFAULT_SHM_SIZE = 64 * 1024 * 1024;

export interface EtcFiles {
  hosts?: string;
  hostname?: string;
  resolvConf?: string;
  /** keep-id: copies with the user's entries added (etc-files.ts keepIdEntries). */
  passwd?: string;
  group?: string;
}

export interface MountInput {
  shmSize: number;
  privileged: boolean;
  readOnly: boolean;
  readOnlyTmpfs: boolean;
  files: EtcFiles;
  user: readonly ResolvedMount[];
}

/** A MountRequest made concrete: volumes become binds of volumeDir (the volume's _data on the host). */
export function resolveMountRequest(req: MountRequest, volumeDir?: string): ResolvedMount {
  if (req.type === 'tmpfs') return {type: 'tmpfs', destination: req.destination, options: [...req.options]};
  if (req.type === 'bind') return {type: 'bind', source: req.source, destination: req.destination, options: [...req.options]};
  if (!volumeDir) throw new Error(`volume ${req.name || '(anonymous)'} for ${req.destination} has no host directory`);
  return {type: 'bind', source: volumeDir, destination: req.destination, options: [...req.options]};
}

const PROPAGATIONS = ['private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave', 'unbindable', 'runbindable'];
/** Engine-level options that mean nothing to the kernel or the runtime. */
const ENGINE_ONLY = new Set(['z', 'Z', 'U', 'O', 'copy', 'nocopy', 'no-dereference', 'chown']);
const isEngineOnly = (o: string) => ENGINE_ONLY.has(o) || o.startsWith('idmap') || o.startsWith('upperdir=') || o.startsWith('workdir=');

/** Bind options as runc wants them: rw|ro, a propagation (rprivate by default), rbind unless "bind" asked. */
export function bindOptions(options: readonly string[]): string[] {
  const out = options.filter((o) => !isEngineOnly(o) && o !== 'bind' && o !== 'rbind');
  if (!out.includes('ro') && !out.includes('rw')) out.unshift('rw');
  if (!out.some((o) => PROPAGATIONS.includes(o))) out.push('rprivate');
  out.push(options.includes('bind') ? 'bind' : 'rbind');
  return out;
}

/** tmpfs options with podman's defaults: rw, nosuid, nodev, noexec unless exec, copy-up of the image content unless notmpcopyup. */
export function tmpfsOptions(options: readonly string[]): string[] {
  const out = options.filter((o) => !isEngineOnly(o) && o !== 'notmpcopyup' && o !== 'tmpcopyup');
  const has = (a: string, b: string) => out.includes(a) || out.includes(b);
  if (!has('ro', 'rw')) out.unshift('rw');
  if (!has('nosuid', 'suid')) out.push('nosuid');
  if (!has('nodev', 'dev')) out.push('nodev');
  if (!has('noexec', 'exec')) out.push('noexec');
  if (!out.some((o) => PROPAGATIONS.includes(o))) out.push('rprivate');
  if (!options.includes('notmpcopyup')) out.push('tmpcopyup');
  return out;
}

function defaultMounts(shmSize: number, privileged: boolean): OciMount[] {
  const sysPerm = privileged ? 'rw' : 'ro';
  return [
    {destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev']},
    {destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k']},
    {destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5']},
    {destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev']},
    {destination: '/sys', type: 'sysfs', source: 'sysfs', options: privileged ? ['rprivate', 'nosuid', 'noexec', 'nodev', 'rw'] : ['nosuid', 'noexec', 'nodev', 'ro']},
    {destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', `size=${shmSize > 0 ? shmSize : DEFAULT_SHM_SIZE}`]},
    {destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['rprivate', 'nosuid', 'noexec', 'nodev', 'relatime', sysPerm]},
  ];
}

function etcMounts(files: EtcFiles): OciMount[] {
  const out: OciMount[] = [];
  const add = (dest: string, src?: string) => src && out.push({destination: dest, type: 'bind', source: src, options: ['bind', 'rprivate']});
  add('/etc/hosts', files.hosts);
  add('/etc/hostname', files.hostname);
  add('/etc/resolv.conf', files.resolvConf);
  add('/etc/passwd', files.passwd);
  add('/etc/group', files.group);
  return out;
}

/** --read-only --read-only-tmpfs: writable tmpfs where programs expect to write (podman: /tmp, /var/tmp, /run). */
function readOnlyTmpfs(): OciMount[] {
  return ['/tmp', '/var/tmp', '/run'].map((d) => ({destination: d, type: 'tmpfs', source: 'tmpfs', options: ['rw', 'rprivate', 'nosuid', 'nodev', 'tmpcopyup']}));
}

function userMount(m: ResolvedMount): OciMount {
  return m.type === 'tmpfs'
    ? {destination: path.posix.normalize(m.destination), type: 'tmpfs', source: 'tmpfs', options: tmpfsOptions(m.options)}
    : {destination: path.posix.normalize(m.destination), type: 'bind', source: m.source, options: bindOptions(m.options)};
}

function depth(dest: string): number {
  return dest === '/' ? 0 : path.posix.normalize(dest).replace(/\/+$/, '').split('/').length - 1;
}

/** Stable sort by path depth, so /a is mounted before /a/b whatever order they came in. */
export function sortMounts(mounts: readonly OciMount[]): OciMount[] {
  return mounts.map((m, i) => ({m, i})).sort((a, b) => depth(a.m.destination) - depth(b.m.destination) || a.i - b.i).map((x) => x.m);
}

export function buildMounts(input: MountInput): OciMount[] {
  const user = input.user.map(userMount);
  const taken = new Set(user.map((m) => m.destination));
  const base = [...defaultMounts(input.shmSize, input.privileged), ...etcMounts(input.files)];
  if (input.readOnly && input.readOnlyTmpfs) base.push(...readOnlyTmpfs());
  return sortMounts([...base.filter((m) => !taken.has(m.destination)), ...user]);
}
