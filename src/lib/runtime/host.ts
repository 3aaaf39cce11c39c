/**
 * Facts about the host that decide what skiff can do here: the cgroup
 * layout, which OCI runtimes and helpers are installed and whether they can
 * work with that layout. Read on demand (info, container start); nothing
 * here is cached across invocations.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {execFileSync} from 'node:child_process';

export type CgroupMode = 'v2' | 'v1' | 'hybrid';

let cachedMode: CgroupMode | undefined;

/**
 * v2: unified at /sys/fs/cgroup; hybrid: v1 controllers plus a cgroup2 mount
 * at .../unified; else v1. This host's own layout is read once per process.
 */
export function cgroupMode(mountinfo?: string): CgroupMode {
  if (mountinfo === undefined) return (cachedMode ??= cgroupMode(readMountinfo()));
  const mounts = mountinfo.split('\n').map((l) => {
    const parts = l.split(' ');
    const sep = parts.indexOf('-');
    return {target: parts[4], fstype: parts[sep + 1]};
  });
  if (mounts.some((m) => m.target === '/sys/fs/cgroup' && m.fstype === 'cgroup2')) return 'v2';
  if (mounts.some((m) => m.fstype === 'cgroup2')) return 'hybrid';
  return 'v1';
}

/** The controllers of the hybrid layout's cgroup2 mount (where crun looks), '' when none or unreadable. */
function unifiedControllers(): string {
  try {
    return fs.readFileSync('/sys/fs/cgroup/unified/cgroup.controllers', 'utf8');
  } catch {
    return '';
  }
}

/**
 * Why crun cannot run containers here, or undefined. crun (1.8 as in
 * Debian 12, and later) accepts a hybrid layout only while its cgroup2 mount
 * has no controllers: it reads /sys/fs/cgroup/unified/cgroup.controllers and
 * refuses with "cgroups in hybrid mode not supported, drop all controllers
 * from cgroupv2" otherwise. runc does not mind.
 */
export function crunRefusal(mode: CgroupMode = cgroupMode(), controllers: string = mode === 'hybrid' ? unifiedControllers() : ''): string | undefined {
  if (mode !== 'hybrid') return undefined;
  const list = controllers.trim().split(/\s+/).filter(Boolean);
  if (list.length === 0) return undefined;
  const first = list[0];
  return `crun refuses this host's hybrid cgroup layout because its cgroup2 mount /sys/fs/cgroup/unified has controllers (${list.join(', ')}); runc does not mind, and mounting them as cgroup v1 hierarchies (e.g. mkdir /sys/fs/cgroup/${first} && mount -t cgroup -o ${first} cgroup /sys/fs/cgroup/${first}) makes crun usable`;
}

function readMountinfo(): string {
  try {
    return fs.readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return '';
  }
}

/**
 * Where found, per search path and name: a command looks up conmon and its
 * runtime more than once (run: default runtime, validation, monitor), and
 * each miss along PATH is an exception in Node. Only hits are kept.
 */
const found = new Map<string, string>();

/** First executable named `name` on PATH (plus the usual sbin dirs), or undefined. */
export function findBinary(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (name.includes('/')) return isExecutable(name) ? name : undefined;
  const key = `${env.PATH ?? ''}\0${name}`;
  const hit = found.get(key);
  if (hit !== undefined && isExecutable(hit)) return hit;
  const dirs = [...(env.PATH ?? '').split(':'), '/usr/local/bin', '/usr/bin', '/usr/sbin', '/usr/libexec/podman', '/usr/lib/podman'];
  for (const d of dirs) {
    if (!d) continue;
    const p = path.join(d, name);
    if (isExecutable(p)) {
      found.set(key, p);
      return p;
    }
  }
  found.delete(key);
  return undefined;
}

function isExecutable(p: string): boolean {
  try {
    // stat first: a missing file (most of PATH) is then no exception.
    if (!fs.statSync(p, {throwIfNoEntry: false})?.isFile()) return false;
    fs.accessSync(p, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function binaryVersion(p: string): string {
  try {
    return execFileSync(p, ['--version'], {encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'ignore']}).split('\n')[0].trim();
  } catch {
    return 'unknown';
  }
}

export interface RuntimeInfo {
  name: string;
  path?: string;
  version?: string;
  usable: boolean;
  /** Why it cannot be used here, when it cannot. */
  reason?: string;
}

/** runc and crun as found here, and why one cannot be used (crunRefusal). */
export function detectRuntimes(mode: CgroupMode = cgroupMode()): RuntimeInfo[] {
  return ['runc', 'crun'].map((name) => {
    const p = findBinary(name);
    if (!p) return {name, usable: false, reason: 'not installed'};
    const version = binaryVersion(p);
    const refusal = name === 'crun' ? crunRefusal(mode) : undefined;
    if (refusal) return {name, path: p, version, usable: false, reason: refusal};
    return {name, path: p, version, usable: true};
  });
}

export function distribution(): {distribution: string; version: string; codename: string} {
  const out = {distribution: 'unknown', version: 'unknown', codename: ''};
  try {
    for (const line of fs.readFileSync('/etc/os-release', 'utf8').split('\n')) {
      const m = /^(\w+)="?([^"]*)"?$/.exec(line);
      if (!m) continue;
      if (m[1] === 'ID') out.distribution = m[2];
      if (m[1] === 'VERSION_ID') out.version = m[2];
      if (m[1] === 'VERSION_CODENAME') out.codename = m[2];
    }
  } catch {
    /* not fatal */
  }
  return out;
}

export function hostBasics() {
  return {
    hostname: os.hostname(),
    kernel: os.release(),
    cpus: os.cpus().length,
    memTotal: os.totalmem(),
    memFree: os.freemem(),
    uptime: os.uptime(),
  };
}
