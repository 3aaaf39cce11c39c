/**
 * Persistent network namespaces: an nsfs bind mount on a file under
 * runroot/netns/. Node cannot unshare (it is multithreaded), so util-linux
 * `unshare --net=FILE` does it: it makes a new namespace in a child and
 * bind-mounts it on FILE. Removal is a lazy unmount and an unlink; the
 * namespace itself goes when its last user (the container) is gone.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {spawn, spawnSync} from 'node:child_process';
import {mount, umount2, MNT, MS} from '../util/native';
import {invalidInput, SkiffError} from '../util/errors';
import {log} from '../util/log';
import {processIds} from './proc';

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
  prepareNetnsFile(file);
  const r = spawnSync(tool('unshare'), unshareArgs(file, opts), {encoding: 'utf8'});
  netnsOutcome(file, r.error, r.status, r.stderr ?? '');
}

/** createNetns without blocking the event loop: the container's mounts go on meanwhile. */
export function createNetnsAsync(file: string, opts: {loUp?: boolean} = {}): Promise<void> {
  try {
    prepareNetnsFile(file);
  } catch (err) {
    return Promise.reject(err);
  }
  return new Promise((resolve, reject) => {
    const child = spawn(tool('unshare'), unshareArgs(file, opts), {stdio: ['ignore', 'ignore', 'pipe']});
    const err: Buffer[] = [];
    let done = false;
    const finish = (error: Error | undefined, status: number | null) => {
      if (done) return;
      done = true;
      try {
        netnsOutcome(file, error, status, Buffer.concat(err).toString('utf8'));
        resolve();
      } catch (e) {
        reject(e);
      }
    };
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => finish(e, null));
    child.on('close', (status) => finish(undefined, status));
  });
}

function prepareNetnsFile(file: string): void {
  fs.mkdirSync(path.dirname(file), {recursive: true, mode: 0o700});
  fs.writeFileSync(file, '', {mode: 0o600});
}

// One process: unshare binds the new namespace to the file, then runs `ip`
// inside it to bring lo up, as podman does (no CNI loopback plugin needed).
function unshareArgs(file: string, opts: {loUp?: boolean}): string[] {
  return [`--net=${file}`, ...(opts.loUp === false ? ['true'] : [tool('ip'), 'link', 'set', 'lo', 'up'])];
}

const SYSTEM_DIRS = ['/usr/bin', '/usr/sbin', '/bin', '/sbin'];
const tools = new Map<string, string>();

/** A util-linux/iproute2 tool by absolute path (no PATH walk per start; a PATH with user directories first costs failed execs), else its name. */
function tool(name: string): string {
  let p = tools.get(name);
  if (p === undefined) {
    p = SYSTEM_DIRS.map((d) => path.join(d, name)).find((c) => fs.existsSync(c)) ?? name;
    tools.set(name, p);
  }
  return p;
}

function netnsOutcome(file: string, error: Error | undefined, status: number | null, stderr: string): void {
  if (error) {
    fs.rmSync(file, {force: true});
    throw invalidInput(`creating a network namespace needs util-linux unshare: ${error.message}`);
  }
  if (status !== 0 && !isNsMounted(file)) {
    fs.rmSync(file, {force: true});
    throw new SkiffError('internal', `creating network namespace ${file}: ${stderr.trim()}`);
  }
  if (status !== 0) log.warn(`bringing lo up in ${file}: ${stderr.trim() || `exit status ${status}`}`);
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

/**
 * Whether unmounting `file` ends its namespace: nothing but this one mount
 * holds it (no process lives in it, no other nsfs mount of it in this mount
 * namespace). An open descriptor elsewhere cannot be seen; callers check
 * the effect (the veths vanish) afterwards. False when in doubt.
 */
export function netnsEndsWithMount(file: string): boolean {
  let ino: number;
  try {
    ino = fs.statSync(file).ino;
  } catch {
    return false;
  }
  const tag = `net:[${ino}]`;
  try {
    const mounts = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.split(' ')[3] === tag);
    if (mounts.length !== 1 || mounts[0].split(' ')[4] !== file) return false;
  } catch {
    return false;
  }
  const pids = processIds();
  if (!pids) return false;
  for (const pid of pids) {
    try {
      if (fs.readlinkSync(`/proc/${pid}/ns/net`) === tag) return false;
    } catch {
      /* gone, or a zombie (it holds no namespace) */
    }
  }
  return true;
}
