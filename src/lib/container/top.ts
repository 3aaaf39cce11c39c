/**
 * `top`: the container's processes with podman's (psgo's) AIX-style
 * descriptors, read from /proc for every pid in the container's cgroup.
 * Pids are shown as the container sees them (the last NSpid entry), users
 * and groups are names from the container's own /etc/passwd and /etc/group
 * (read with the scoped rootfs reader, never through /proc/<pid>/root,
 * whose absolute symlinks would resolve on the host); the h* descriptors
 * show the host's view.
 *
 * Descriptors that are not psgo's make the caller fall back to running
 * ps(1) in the container (see isPsgoDescriptors).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import {ALL_CAPABILITIES} from '../runtime/spec/capabilities';
import {parseGroup, parsePasswd} from './user';

type Proc = {
  hostPid: number;
  stat: string[]; // fields after "(comm)", index 0 = state (field 3)
  comm: string;
  status: Map<string, string>;
  cmdline: string[];
};

export interface TopContext {
  /** Reads a file inside the container (scoped), for /etc/passwd and /etc/group. */
  readFile: (containerPath: string) => string | undefined;
  /** Host pids of the container's processes. */
  pids: number[];
  now?: number;
}

const TICKS = 100; // sysconf(_SC_CLK_TCK) on Linux

interface Descriptor {
  header: string;
  get: (p: Proc, c: Ctx) => string;
}

interface Ctx {
  users: Map<number, string>;
  groups: Map<number, string>;
  hostUsers: Map<number, string>;
  hostGroups: Map<number, string>;
  nsPid: Map<number, number>;
  bootMs: number;
  now: number;
}

/** Go's time.Duration.String(). */
export function goDuration(ns: number): string {
  if (ns === 0) return '0s';
  const neg = ns < 0;
  let v = Math.abs(Math.round(ns));
  let out: string;
  if (v < 1000) out = `${v}ns`;
  else if (v < 1e6) out = `${trim((v / 1e3).toFixed(3))}µs`;
  else if (v < 1e9) out = `${trim((v / 1e6).toFixed(6))}ms`;
  else {
    const h = Math.floor(v / 3.6e12);
    v -= h * 3.6e12;
    const m = Math.floor(v / 6e10);
    v -= m * 6e10;
    const s = trim((v / 1e9).toFixed(9)) + 's';
    out = h ? `${h}h${m}m${s}` : m ? `${m}m${s}` : s;
  }
  return (neg ? '-' : '') + out;
}

function trim(s: string): string {
  return s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s;
}

const ids = (p: Proc, key: string) => (p.status.get(key) ?? '').split(/\s+/).map(Number);
const name = (m: Map<number, string>, id: number) => m.get(id) ?? String(id);
const nsPidOf = (c: Ctx, hostPid: number) => c.nsPid.get(hostPid) ?? 0;
const elapsedNs = (p: Proc, c: Ctx) => Math.max(0, (c.now - (c.bootMs + (Number(p.stat[19]) / TICKS) * 1000)) * 1e6);
const cpuNs = (p: Proc) => ((Number(p.stat[11]) + Number(p.stat[12])) / TICKS) * 1e9;

function caps(hex: string | undefined): string {
  if (!hex) return 'none';
  const v = BigInt('0x' + hex);
  if (v === 0n) return 'none';
  const names: string[] = [];
  for (let i = 0; i < ALL_CAPABILITIES.length; i++) if (v & (1n << BigInt(i))) names.push(ALL_CAPABILITIES[i].replace(/^CAP_/, ''));
  const full = (1n << BigInt(ALL_CAPABILITIES.length)) - 1n;
  return (v & full) === full ? 'full' : names.join(',');
}

function ttyName(nr: number): string {
  if (!nr) return '?';
  const major = (nr >> 8) & 0xfff;
  const minor = (nr & 0xff) | ((nr >> 12) & 0xfff00);
  if (major === 136) return `pts/${minor}`;
  if (major === 4) return `tty${minor}`;
  return '?';
}

const DESCRIPTORS: Record<string, Descriptor> = {
  args: {header: 'COMMAND', get: (p) => (p.cmdline.length ? p.cmdline.join(' ') : `[${p.comm}]`)},
  capamb: {header: 'AMBIENT CAPS', get: (p) => caps(p.status.get('CapAmb'))},
  capbnd: {header: 'BOUNDING CAPS', get: (p) => caps(p.status.get('CapBnd'))},
  capeff: {header: 'EFFECTIVE CAPS', get: (p) => caps(p.status.get('CapEff'))},
  capinh: {header: 'INHERITED CAPS', get: (p) => caps(p.status.get('CapInh'))},
  capprm: {header: 'PERMITTED CAPS', get: (p) => caps(p.status.get('CapPrm'))},
  comm: {header: 'COMMAND', get: (p) => p.comm},
  etime: {header: 'ELAPSED', get: (p, c) => goDuration(elapsedNs(p, c))},
  group: {header: 'GROUP', get: (p, c) => name(c.groups, ids(p, 'Gid')[1])},
  hgroup: {header: 'HGROUP', get: (p, c) => name(c.hostGroups, ids(p, 'Gid')[1])},
  hpid: {header: 'HPID', get: (p) => String(p.hostPid)},
  huser: {header: 'HUSER', get: (p, c) => name(c.hostUsers, ids(p, 'Uid')[1])},
  label: {header: 'LABEL', get: (p) => readOr(`/proc/${p.hostPid}/attr/current`, '-').replace(/\0/g, '').trim() || '-'},
  nice: {header: 'NI', get: (p) => p.stat[16]},
  pcpu: {header: '%CPU', get: (p, c) => {
    const e = elapsedNs(p, c);
    return (e > 0 ? (100 * cpuNs(p)) / e : 0).toFixed(3);
  }},
  pgid: {header: 'PGID', get: (p, c) => String(nsPidOf(c, Number(p.stat[2])))},
  pid: {header: 'PID', get: (p, c) => String(nsPidOf(c, p.hostPid))},
  ppid: {header: 'PPID', get: (p, c) => String(nsPidOf(c, Number(p.stat[1])))},
  rgroup: {header: 'RGROUP', get: (p, c) => name(c.groups, ids(p, 'Gid')[0])},
  ruser: {header: 'RUSER', get: (p, c) => name(c.users, ids(p, 'Uid')[0])},
  seccomp: {header: 'SECCOMP', get: (p) => ({'0': 'disabled', '1': 'strict', '2': 'filter'})[p.status.get('Seccomp') ?? ''] ?? '?'},
  state: {header: 'STATE', get: (p) => p.stat[0]},
  stime: {header: 'STIME', get: (p, c) => new Date(c.bootMs + (Number(p.stat[19]) / TICKS) * 1000).toISOString()},
  time: {header: 'TIME', get: (p) => goDuration(cpuNs(p))},
  tty: {header: 'TTY', get: (p) => ttyName(Number(p.stat[4]))},
  user: {header: 'USER', get: (p, c) => name(c.users, ids(p, 'Uid')[1])},
  vsz: {header: 'VSZ', get: (p) => String(Math.floor(Number(p.stat[20]) / 1024))},
};

const AIX: Record<string, string> = {
  '%C': 'pcpu', '%G': 'group', '%P': 'ppid', '%U': 'ruser', '%a': 'args', '%c': 'comm', '%g': 'rgroup', '%n': 'nice',
  '%p': 'pid', '%r': 'pgid', '%t': 'etime', '%u': 'user', '%x': 'time', '%y': 'tty', '%z': 'vsz',
};

export const DEFAULT_DESCRIPTORS = ['user', 'pid', 'ppid', 'pcpu', 'etime', 'tty', 'time', 'args'];

/** The descriptors as psgo would take them (comma or space separated), or undefined if any is not one. */
export function psgoDescriptors(args: readonly string[]): string[] | undefined {
  const list = args.flatMap((a) => a.split(/[\s,]+/)).filter(Boolean).map((d) => AIX[d] ?? d);
  if (list.length === 0) return DEFAULT_DESCRIPTORS;
  return list.every((d) => d in DESCRIPTORS) ? list : undefined;
}

function readOr(file: string, fallback: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return fallback;
  }
}

function readProc(pid: number): Proc | undefined {
  try {
    const raw = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = raw.lastIndexOf(')');
    const comm = raw.slice(raw.indexOf('(') + 1, close);
    const stat = raw.slice(close + 2).trim().split(' ');
    const status = new Map<string, string>();
    for (const line of fs.readFileSync(`/proc/${pid}/status`, 'utf8').split('\n')) {
      const i = line.indexOf(':');
      if (i > 0) status.set(line.slice(0, i), line.slice(i + 1).trim());
    }
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    if (cmdline[cmdline.length - 1] === '') cmdline.pop();
    return {hostPid: pid, stat, comm, status, cmdline};
  } catch {
    return undefined; // exited meanwhile
  }
}

function idMap(entries: Array<{name: string; id: number}>): Map<number, string> {
  const m = new Map<number, string>();
  for (const e of entries) if (!m.has(e.id)) m.set(e.id, e.name);
  return m;
}

/** Rows of strings, header first. */
export function topTable(descriptors: readonly string[], ctx: TopContext): string[][] {
  const procs = ctx.pids.map(readProc).filter((p): p is Proc => p !== undefined).sort((a, b) => a.hostPid - b.hostPid);
  const nsPid = new Map<number, number>();
  for (const p of procs) {
    const ns = (p.status.get('NSpid') ?? '').split(/\s+/).map(Number);
    nsPid.set(p.hostPid, ns[ns.length - 1] || p.hostPid);
  }
  const uptime = Number(readOr('/proc/uptime', '0').split(' ')[0]);
  const now = ctx.now ?? Date.now();
  const c: Ctx = {
    users: idMap(parsePasswd(ctx.readFile('/etc/passwd') ?? '').map((e) => ({name: e.name, id: e.uid}))),
    groups: idMap(parseGroup(ctx.readFile('/etc/group') ?? '').map((e) => ({name: e.name, id: e.gid}))),
    hostUsers: idMap(parsePasswd(readOr('/etc/passwd', '')).map((e) => ({name: e.name, id: e.uid}))),
    hostGroups: idMap(parseGroup(readOr('/etc/group', '')).map((e) => ({name: e.name, id: e.gid}))),
    nsPid,
    bootMs: uptime ? now - uptime * 1000 : now - os.uptime() * 1000,
    now,
  };
  const ds = descriptors.map((d) => DESCRIPTORS[d]);
  return [ds.map((d) => d.header), ...procs.map((p) => ds.map((d) => d.get(p, c)))];
}
