/**
 * Persistent network namespaces: an nsfs bind mount on a file under
 * runroot/netns/. Node cannot unshare (it is multithreaded), so util-linux
 * `unshare --net=FILE` does it: it makes a new namespace in a child and
 * bind-mounts it on FILE. Removal is a lazy unmount and an unlink; the
 * namespace itself goes when its last user (the container) is gone.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {spawnSync} from 'node:child_process';
import {mount, umount2, MNT, MS} from '../util/native';
import {invalidInput, SkiffError} from '../util/errors';
import {log} from '../util/log';

export function netnsDir(runroot: string): string {
  return path.join(runroot, 'netns');
}

export function isNsMounted(file: string): boolean {
  let info = '';
  try {
    info = fs.readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return false;
  }
  return info.split('\n').some((l) => l.split(' ')[4] === file);
}

/** `loUp: false` when the network's own process brings lo up (slirp4netns --configure does). */
export function createNetns(file: string, opts: {loUp?: boolean} = {}): void {
  fs.mkdirSync(path.dirname(file), {recursive: true, mode: 0o700});
  fs.writeFileSync(file, '', {mode: 0o600});
  // One process: unshare binds the new namespace to the file, then runs `ip`
  // inside it to bring lo up, as podman does (no CNI loopback plugin needed).
  const r = spawnSync('unshare', [`--net=${file}`, ...(opts.loUp === false ? ['true'] : ['ip', 'link', 'set', 'lo', 'up'])], {encoding: 'utf8'});
  if (r.error) {
    fs.rmSync(file, {force: true});
    throw invalidInput(`creating a network namespace needs util-linux unshare: ${r.error.message}`);
  }
  if (r.status !== 0 && !isNsMounted(file)) {
    fs.rmSync(file, {force: true});
    throw new SkiffError('internal', `creating network namespace ${file}: ${r.stderr.trim()}`);
  }
  if (r.status !== 0) log.warn(`bringing lo up in ${file}: ${r.stderr.trim() || `exit status ${r.status}`}`);
}

/**
 * Keep an existing namespace (a container's, `/proc/PID/ns/net`) on FILE:
 * the runtime made it inside the container's own user namespace, and skiff
 * configures it afterwards through this file, as through one it made.
 */
export function bindNetns(source: string, file: string): void {
  fs.mkdirSync(path.dirname(file), {recursive: true, mode: 0o700});
  fs.writeFileSync(file, '', {mode: 0o600});
  try {
    mount(source, file, '', MS.BIND);
  } catch (err) {
    fs.rmSync(file, {force: true});
    throw new SkiffError('internal', `binding network namespace ${source} to ${file}: ${(err as Error).message}`);
  }
}

/** Unmount and remove (idempotent). */
export function removeNetns(file: string): void {
  for (let i = 0; i < 4 && isNsMounted(file); i++) {
    try {
      umount2(file, MNT.DETACH);
    } catch {
      break;
    }
  }
  fs.rmSync(file, {force: true});
}
