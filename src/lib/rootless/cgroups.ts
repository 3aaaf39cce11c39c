/**
 * Rootless cgroups through cgroup v2 delegation. A rootless container can
 * have a cgroup (and resource limits) only where the kernel lets the user
 * manage one: /sys/fs/cgroup must be cgroup2, and skiff must run inside a
 * subtree the user owns (systemd delegates user@UID.service to the user;
 * a command started from a user unit or `systemd-run --user --scope` runs
 * below it, an ssh session's scope does not).
 *
 * The delegation root D is the topmost directory of the chain of
 * user-writable cgroups that starts at skiff's own cgroup (read from
 * /proc/self/cgroup). Two kernel rules decide this: moving a process
 * (runc's init, born in skiff's cgroup) needs write access to cgroup.procs
 * of the common ancestor of source and target, so the container's cgroup
 * must be below D with skiff; and a cgroup with controllers enabled for its
 * children may hold no processes itself, so D must be a strict ancestor of
 * skiff's own cgroup. Containers go to D/skiff-<id>; runc enables the
 * controllers D offers in D's cgroup.subtree_control. Limits whose
 * controller D does not offer are dropped with a warning.
 *
 * The decisions are pure functions over a cgroup tree given as a root path
 * (unit-tested with a fake tree in a temp directory); `delegation()` applies
 * them to the real /sys/fs/cgroup.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type {ResourceLimits} from '../container/types';
import {cgroupMode} from '../runtime/host';

export interface CgroupDelegation {
  /** The delegation root, as a cgroup path ("/user.slice/user-1000.slice/user@1000.service"). */
  path: string;
  /** Controllers the root offers to its children (its cgroup.controllers). */
  controllers: string[];
}

/** The cgroup v2 path of a /proc/PID/cgroup text ("0::/path"), undefined without one. */
export function unifiedPath(procCgroup: string): string | undefined {
  const line = procCgroup.split('\n').find((l) => l.startsWith('0::'));
  const p = line?.slice(3).trim();
  return p && p.startsWith('/') ? p : undefined;
}

/** Can this process write dir's cgroup.procs and cgroup.subtree_control and make children in it? */
export function writableCgroup(dir: string): boolean {
  try {
    for (const f of [dir, path.join(dir, 'cgroup.procs'), path.join(dir, 'cgroup.subtree_control')]) fs.accessSync(f, fs.constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The delegation root for a process in cgroup `self` of the v2 tree mounted
 * at `root`: the topmost of the user-writable cgroups from `self` upwards,
 * if it is a strict ancestor of `self`; undefined otherwise.
 */
export function findDelegation(root: string, self: string, writable: (dir: string) => boolean = writableCgroup): CgroupDelegation | undefined {
  const rel = path.posix.normalize(self);
  if (rel === '/' || rel.includes('..')) return undefined;
  let top: string | undefined;
  for (let p = rel; p !== '/'; p = path.posix.dirname(p)) {
    if (!writable(path.join(root, p))) break;
    top = p;
  }
  if (top === undefined || top === rel) return undefined;
  let controllers: string[] = [];
  try {
    controllers = fs.readFileSync(path.join(root, top, 'cgroup.controllers'), 'utf8').trim().split(/\s+/).filter(Boolean);
  } catch {
    /* none */
  }
  return {path: top, controllers};
}

/** Which controller each limit needs (cgroup v2 names). */
const CONTROLLER: Record<keyof ResourceLimits, string> = {
  memory: 'memory',
  memorySwap: 'memory',
  memoryReservation: 'memory',
  cpus: 'cpu',
  cpuQuota: 'cpu',
  cpuPeriod: 'cpu',
  cpuShares: 'cpu',
  cpusetCpus: 'cpuset',
  cpusetMems: 'cpuset',
  pidsLimit: 'pids',
  blkioWeight: 'io',
};

/**
 * The limits a delegated cgroup can apply: those whose controller is
 * offered. The default pids limit needs the pids controller too: without
 * it pidsLimit becomes 0 (none). `missing` names the controllers limits
 * asked for that are not offered.
 */
export function applicableLimits(r: ResourceLimits, controllers: string[]): {apply: ResourceLimits; missing: string[]} {
  const apply: ResourceLimits = {};
  const missing = new Set<string>();
  for (const [k, v] of Object.entries(r) as Array<[keyof ResourceLimits, number | string | undefined]>) {
    if (v === undefined) continue;
    if (controllers.includes(CONTROLLER[k])) (apply as Record<string, unknown>)[k] = v;
    else missing.add(CONTROLLER[k]);
  }
  if (!controllers.includes('pids')) apply.pidsLimit = 0;
  return {apply, missing: [...missing].sort()};
}

let cached: {value: CgroupDelegation | undefined} | undefined;

/** The real delegation of this process (cgroup v2 only), computed once. */
export function delegation(): CgroupDelegation | undefined {
  if (!cached) {
    let value: CgroupDelegation | undefined;
    if (cgroupMode() === 'v2') {
      let self: string | undefined;
      try {
        self = unifiedPath(fs.readFileSync('/proc/self/cgroup', 'utf8'));
      } catch {
        /* no procfs */
      }
      if (self) value = findDelegation('/sys/fs/cgroup', self);
    }
    cached = {value};
  }
  return cached.value;
}
