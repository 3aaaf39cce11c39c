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

/** v2: unified at /sys/fs/cgroup; hybrid: v1 controllers plus a cgroup2 mount at .../unified; else v1. */
export function cgroupMode(mountinfo = readMountinfo()): CgroupMode {
  const mounts = mountinfo.split('\n').map((l) => {
    const parts = l.split(' ');
    const sep = parts.indexOf('-');
    return {target: parts[4], fstype: parts[sep + 1]};
  });
  if (mounts.some((m) => m.target === '/sys/fs/cgroup' && m.fstype === 'cgroup2')) return 'v2';
  if (mounts.some((m) => m.fstype === 'cgroup2')) return 'hybrid';
  return 'v1';
}

function readMountinfo(): string {
  try {
    return fs.readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return '';
  }
}

/** First executable named `name` on PATH (plus the usual sbin dirs), or undefined. */
export function findBinary(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (name.includes('/')) return isExecutable(name) ? name : undefined;
  const dirs = [...(env.PATH ?? '').split(':'), '/usr/local/bin', '/usr/bin', '/usr/sbin', '/usr/libexec/podman', '/usr/lib/podman'];
  for (const d of dirs) {
    if (!d) continue;
    const p = path.join(d, name);
    if (isExecutable(p)) return p;
  }
  return undefined;
}

function isExecutable(p: string): boolean {
  try {
    fs.accessSync(p, fs.constants.X_OK);
    return fs.statSync(p).isFile();
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

/** runc and crun as found here. crun refuses the hybrid cgroup layout ("cgroups in hybrid mode not supported", seen with Debian 12's crun 1.8). */
export function detectRuntimes(mode: CgroupMode = cgroupMode()): RuntimeInfo[] {
  return ['runc', 'crun'].map((name) => {
    const p = findBinary(name);
    if (!p) return {name, usable: false, reason: 'not installed'};
    const version = binaryVersion(p);
    if (name === 'crun' && mode === 'hybrid') {
      return {name, path: p, version, usable: false, reason: 'crun does not support the hybrid cgroup layout (cgroup v1 controllers with a v2 mount) this host uses; runc does'};
    }
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
