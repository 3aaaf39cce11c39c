/**
 * Removing a container's cgroups when the runtime could not: after a lost
 * runtime state (runroot emptied) or a runtime killed midway, runc's delete
 * has nothing to go on and the empty cgroup directories would stay.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {log} from '../util/log';
import {isRootless} from '../rootless/userns';
import {delegation} from '../rootless/cgroups';

const ROOT = '/sys/fs/cgroup';

/** The container's cgroupsPath as skiff writes it into config.json (rootless: below the delegated cgroup, rootless/cgroups.ts). */
export function containerCgroupPath(id: string, parent?: string): string {
  if (parent) return `${parent}/skiff-${id}`;
  const d = isRootless() ? delegation() : undefined;
  return d ? `${d.path}/skiff-${id}` : `/skiff/${id}`;
}

/** rmdir the cgroup in every hierarchy (v1 controllers, v2 or the hybrid unified mount); non-empty ones are left. */
export function removeCgroup(cgroupPath: string, root = ROOT): void {
  const rel = cgroupPath.replace(/^\/+/, '');
  if (!rel || rel.includes('..')) return;
  const dirs: string[] = [path.join(root, rel)];
  try {
    for (const e of fs.readdirSync(root, {withFileTypes: true})) if (e.isDirectory()) dirs.push(path.join(root, e.name, rel));
  } catch {
    return;
  }
  for (const d of dirs) {
    try {
      fs.rmdirSync(d);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') log.debug(`cgroup ${d} not removed: ${code}`);
    }
  }
}
