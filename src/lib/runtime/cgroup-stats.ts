/**
 * Resource usage of a container, read from its cgroup files: cgroup v1
 * (cpuacct, memory, blkio, pids controllers), v2 (one unified directory:
 * cpu.stat, memory.current/max/stat, io.stat, pids.current) or the hybrid
 * layout this project's hosts use (v1 controllers plus an empty cgroup2
 * mount: the v1 files are read). The container's directories come from
 * /proc/<pid>/cgroup of its init process and the cgroup mounts in
 * /proc/self/mountinfo, so the layout is detected, never assumed.
 *
 * The parsers are pure (text in, numbers out) and unit-tested on fixture
 * files of both versions.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface CgroupMounts {
  /** v1 controller name → mount point. */
  v1: Map<string, string>;
  /** The cgroup2 mount point (unified at /sys/fs/cgroup on v2, e.g. /sys/fs/cgroup/unified on hybrid). */
  v2?: string;
}

export function parseCgroupMounts(mountinfo: string): CgroupMounts {
  const out: CgroupMounts = {v1: new Map()};
  for (const line of mountinfo.split('\n')) {
    const parts = line.split(' ');
    const sep = parts.indexOf('-');
    if (sep < 0) continue;
    const fstype = parts[sep + 1];
    const target = parts[4];
    if (fstype === 'cgroup2') {
      if (!out.v2 || target === '/sys/fs/cgroup') out.v2 = target;
    } else if (fstype === 'cgroup') {
      for (const opt of (parts[sep + 3] ?? '').split(',')) {
        if (['rw', 'ro'].includes(opt) || opt.includes('=') || opt.startsWith('clone_')) continue;
        if (!out.v1.has(opt)) out.v1.set(opt, target);
      }
    }
  }
  return out;
}

/** /proc/<pid>/cgroup → controller (or "" for the v2 line) → path. */
export function parseProcCgroup(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line.trim());
    if (!m) continue;
    if (m[2] === '') out.set('', m[3]);
    else for (const c of m[2].split(',')) out.set(c, m[3]);
  }
  return out;
}

export interface CgroupDirs {
  version: 'v1' | 'v2';
  cpu?: string;
  memory?: string;
  io?: string;
  pids?: string;
  /** A directory whose cgroup.procs lists every process of the container. */
  procs?: string;
}

/** Where the container's counters are: v1 controllers when they are mounted (v1, hybrid), else the v2 directory. */
export function cgroupDirs(procCgroup: string, mountinfo: string): CgroupDirs {
  const mounts = parseCgroupMounts(mountinfo);
  const paths = parseProcCgroup(procCgroup);
  const v1 = (c: string) => {
    const mp = mounts.v1.get(c);
    const p = paths.get(c);
    return mp && p !== undefined ? path.join(mp, p) : undefined;
  };
  if (mounts.v1.has('memory') && paths.has('memory')) {
    const memory = v1('memory');
    return {version: 'v1', cpu: v1('cpuacct'), memory, io: v1('blkio'), pids: v1('pids'), procs: v1('pids') ?? memory};
  }
  const p = paths.get('');
  const dir = mounts.v2 && p !== undefined ? path.join(mounts.v2, p) : undefined;
  return {version: 'v2', cpu: dir, memory: dir, io: dir, pids: dir, procs: dir};
}

/** Key-value files (memory.stat, cpu.stat): "name value" per line. */
export function parseFlatKeyed(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined && /^\d+$/.test(v)) out.set(k, Number(v));
  }
  return out;
}

/** v2 io.stat: "8:0 rbytes=1 wbytes=2 rios=3 ..." per device; summed. */
export function parseIoStat(text: string): {read: number; write: number} {
  let read = 0;
  let write = 0;
  for (const line of text.split('\n')) {
    for (const field of line.trim().split(/\s+/).slice(1)) {
      const [k, v] = field.split('=');
      if (k === 'rbytes') read += Number(v) || 0;
      if (k === 'wbytes') write += Number(v) || 0;
    }
  }
  return {read, write};
}

/** v1 blkio.*io_service_bytes*: "8:0 Read 123" lines ("Total" lines ignored). */
export function parseBlkioBytes(text: string): {read: number; write: number} {
  let read = 0;
  let write = 0;
  for (const line of text.split('\n')) {
    const [, op, v] = line.trim().split(/\s+/);
    if (op === 'Read') read += Number(v) || 0;
    if (op === 'Write') write += Number(v) || 0;
  }
  return {read, write};
}

/** /proc/<pid>/net/dev: bytes received and sent over every interface but lo. */
export function parseNetDev(text: string): {rx: number; tx: number; interfaces: number} {
  let rx = 0;
  let tx = 0;
  let interfaces = 0;
  for (const line of text.split('\n').slice(2)) {
    const m = /^\s*([^:]+):\s*(.*)$/.exec(line);
    if (!m || m[1].trim() === 'lo') continue;
    const f = m[2].trim().split(/\s+/).map(Number);
    rx += f[0] || 0;
    tx += f[8] || 0;
    interfaces++;
  }
  return {rx, tx, interfaces};
}

/** A v1 or v2 limit value: "max" and v1's huge "unlimited" number mean no limit (undefined). */
export function parseLimit(text: string): number | undefined {
  const t = text.trim();
  if (t === 'max' || t === '') return undefined;
  const n = Number(t);
  return Number.isFinite(n) && n < 2 ** 62 ? n : undefined;
}

export interface CgroupStats {
  /** Total CPU time used, nanoseconds. */
  cpuNs: number;
  /** Memory in use, without the inactive file cache (as podman and docker report it). */
  memUsage: number;
  /** The memory limit; the host's memory when unlimited. */
  memLimit: number;
  blockRead: number;
  blockWrite: number;
  pids: number;
}

function read(dir: string | undefined, file: string): string | undefined {
  if (!dir) return undefined;
  try {
    return fs.readFileSync(path.join(dir, file), 'utf8');
  } catch {
    return undefined;
  }
}

/** The counters of the cgroup directories found by cgroupDirs(). */
export function readCgroupStats(d: CgroupDirs, hostMemory = os.totalmem()): CgroupStats {
  let cpuNs = 0;
  let memUsage = 0;
  let limit: number | undefined;
  let io = {read: 0, write: 0};
  if (d.version === 'v1') {
    cpuNs = Number(read(d.cpu, 'cpuacct.usage')?.trim() ?? 0) || 0;
    const usage = Number(read(d.memory, 'memory.usage_in_bytes')?.trim() ?? 0) || 0;
    const stat = parseFlatKeyed(read(d.memory, 'memory.stat') ?? '');
    memUsage = Math.max(0, usage - (stat.get('total_inactive_file') ?? 0));
    limit = parseLimit(read(d.memory, 'memory.limit_in_bytes') ?? '');
    const throttle = read(d.io, 'blkio.throttle.io_service_bytes_recursive') ?? read(d.io, 'blkio.throttle.io_service_bytes');
    io = parseBlkioBytes(throttle ?? '');
    if (io.read === 0 && io.write === 0) io = parseBlkioBytes(read(d.io, 'blkio.io_service_bytes_recursive') ?? '');
  } else {
    cpuNs = (parseFlatKeyed(read(d.cpu, 'cpu.stat') ?? '').get('usage_usec') ?? 0) * 1000;
    const usage = Number(read(d.memory, 'memory.current')?.trim() ?? 0) || 0;
    const stat = parseFlatKeyed(read(d.memory, 'memory.stat') ?? '');
    memUsage = Math.max(0, usage - (stat.get('inactive_file') ?? 0));
    limit = parseLimit(read(d.memory, 'memory.max') ?? '');
    io = parseIoStat(read(d.io, 'io.stat') ?? '');
  }
  const pids = Number(read(d.pids, 'pids.current')?.trim() ?? NaN);
  return {
    cpuNs,
    memUsage,
    memLimit: limit === undefined ? hostMemory : Math.min(limit, hostMemory),
    blockRead: io.read,
    blockWrite: io.write,
    pids: Number.isFinite(pids) ? pids : (read(d.procs, 'cgroup.procs') ?? '').split('\n').filter(Boolean).length,
  };
}

/** The pids (host view) in the container's cgroup. */
export function cgroupPids(d: CgroupDirs): number[] {
  return (read(d.procs, 'cgroup.procs') ?? '')
    .split('\n')
    .filter((l) => /^\d+$/.test(l))
    .map(Number);
}

/** The cgroup directories of a live process (the container's init). */
export function processCgroupDirs(pid: number): CgroupDirs {
  const proc = fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8');
  const mountinfo = fs.readFileSync('/proc/self/mountinfo', 'utf8');
  return cgroupDirs(proc, mountinfo);
}
