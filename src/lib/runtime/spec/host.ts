/**
 * The few host facts spec generation needs, read here so buildSpec stays
 * pure: the engine's rlimits, its capability bounding set, and device nodes
 * (major/minor/mode) for --device and --privileged.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {invalidInput} from '../../util/errors';
import {capabilitiesFromMask} from './capabilities';
import type {DeviceNode, HostDevice} from './devices';
import type {HostRlimits} from './rlimits';

/** /proc/self/limits row titles → ulimit names. */
const LIMIT_NAMES: Record<string, string> = {
  'Max cpu time': 'cpu',
  'Max file size': 'fsize',
  'Max data size': 'data',
  'Max stack size': 'stack',
  'Max core file size': 'core',
  'Max resident set': 'rss',
  'Max processes': 'nproc',
  'Max open files': 'nofile',
  'Max locked memory': 'memlock',
  'Max address space': 'as',
  'Max file locks': 'locks',
  'Max pending signals': 'sigpending',
  'Max msgqueue size': 'msgqueue',
  'Max nice priority': 'nice',
  'Max realtime priority': 'rtprio',
  'Max realtime timeout': 'rttime',
};

/** Parses /proc/PID/limits text; "unlimited" becomes Infinity. */
export function parseProcLimits(text: string): HostRlimits {
  const out: HostRlimits = {};
  const num = (s: string) => (s === 'unlimited' ? Infinity : Number(s));
  for (const line of text.split('\n')) {
    const m = /^(Max [a-z ]+?)\s{2,}(\S+)\s+(\S+)/.exec(line);
    if (!m || !(m[1] in LIMIT_NAMES)) continue;
    out[LIMIT_NAMES[m[1]]] = {soft: num(m[2]), hard: num(m[3])};
  }
  return out;
}

/** The engine's own rlimits; their hard values cap what a container may ask for. */
export function hostRlimits(): HostRlimits {
  return parseProcLimits(fs.readFileSync('/proc/self/limits', 'utf8'));
}

/** The engine's capability bounding set (CapBnd of /proc/self/status). */
export function hostCapabilities(): string[] {
  const m = /^CapBnd:\s*([0-9a-f]+)$/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
  return m ? capabilitiesFromMask(m[1]) : [];
}

/** glibc's gnu_dev_major/minor for a 64-bit dev_t held in a double. */
export function splitDev(rdev: number): {major: number; minor: number} {
  const lo = rdev % 2 ** 32;
  const hi = Math.floor(rdev / 2 ** 32);
  return {major: ((lo >>> 8) & 0xfff) | (hi & 0xfffff000), minor: (lo & 0xff) | ((lo >>> 12) & 0xfff00)};
}

function nodeOf(st: fs.Stats): DeviceNode | undefined {
  const type = st.isCharacterDevice() ? 'c' : st.isBlockDevice() ? 'b' : undefined;
  if (!type) return undefined;
  return {type, ...splitDev(st.rdev), fileMode: st.mode & 0o7777, uid: st.uid, gid: st.gid};
}

/** A --device source on the host (symlinks followed, as podman does). */
export function statDevice(hostPath: string): DeviceNode {
  let st: fs.Stats;
  try {
    st = fs.statSync(hostPath);
  } catch (err) {
    throw invalidInput(`${hostPath} is not a valid device: ${(err as NodeJS.ErrnoException).code ?? 'stat failed'}`, err);
  }
  const node = nodeOf(st);
  if (!node) throw invalidInput(`${hostPath} is not a valid device: not a character or block device`);
  return node;
}

/** Every device node under /dev, for --privileged (skipping the per-container pts, shm, mqueue, fd). */
export function listHostDevices(dir = '/dev'): HostDevice[] {
  const out: HostDevice[] = [];
  let names: fs.Dirent[];
  try {
    names = fs.readdirSync(dir, {withFileTypes: true});
  } catch {
    return out;
  }
  for (const e of names) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      if (dir === '/dev' && ['pts', 'shm', 'fd', 'mqueue', '.lxc', '.lxd-mounts'].includes(e.name)) continue;
      out.push(...listHostDevices(p));
    } else if (e.isCharacterDevice() || e.isBlockDevice()) {
      if (p === '/dev/console') continue;
      const st = fs.lstatSync(p, {throwIfNoEntry: false});
      const node = st && nodeOf(st);
      if (node) out.push({path: p, ...node});
    }
  }
  return out;
}
