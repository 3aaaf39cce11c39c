/**
 * --userns=keep-id (rootless): the container gets a user namespace of its own
 * in which the user's own uid/gid are the user's host ids (uid 0 of skiff's
 * namespace) and the other container ids take the subordinate ids, as podman
 * maps them:
 *   container 0..U-1 -> ns 1..U, container U -> ns 0, container U+1.. -> ns U+1..
 * The image's files are unpacked in the container-default numbering (image
 * uid N is ns uid N), so the root filesystem must show them shifted:
 * fuse-overlayfs with uidmapping/gidmapping does that (as podman's rootless
 * storage). A kernel idmapped mount cannot: mount_setattr(MOUNT_ATTR_IDMAP)
 * refuses (EINVAL) a filesystem mounted inside a user namespace, and
 * idmapping the layers' ext4 needs CAP_SYS_ADMIN in the initial namespace.
 * Bind mounts are not shifted: what the container's user writes there is
 * owned by the user on the host.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {spawnSync} from 'node:child_process';
import {invalidInput, storageError} from '../util/errors';
import {readIdMap, rootlessIds, inUserns} from './userns';

export interface OciIdMapping {
  containerID: number;
  hostID: number;
  size: number;
}

/** USERNS modes skiff accepts; '' and host mean the container shares skiff's (the user's) namespace. */
export type UsernsMode = '' | 'keep-id' | 'nomap' | 'auto';

export function parseUserns(value: string | undefined): UsernsMode {
  const v = value ?? '';
  if (v === '' || v === 'host') return '';
  if (v === 'keep-id') {
    if (!rootlessIds()) throw invalidInput('keep-id is only supported in rootless mode');
    return 'keep-id';
  }
  if (v === 'nomap') {
    if (!rootlessIds()) throw invalidInput('nomap is only supported in rootless mode');
    return 'nomap';
  }
  if (v === 'auto' || v.startsWith('auto:')) return 'auto';
  if (v.startsWith('ns:') || v.startsWith('container:') || v === 'private') {
    throw invalidInput(`--userns=${v} is not supported (supported: host, keep-id, nomap, auto[:size=N])`);
  }
  throw invalidInput(`invalid --userns "${v}": use host, keep-id, nomap or auto[:size=N]`);
}

/** The keep-id mapping for id (the user's host id, which is 0 of skiff's namespace) over a namespace of size ids. */
export function keepIdMapping(id: number, size: number): OciIdMapping[] {
  const out: OciIdMapping[] = [];
  if (size > 1) out.push({containerID: 0, hostID: 1, size: Math.min(id, size - 1)});
  out.push({containerID: id, hostID: 0, size: 1});
  if (size - 1 > id) out.push({containerID: id + 1, hostID: id + 1, size: size - 1 - id});
  return out;
}

/**
 * Splits ranges so each falls inside one line of the parent map: the kernel
 * refuses a mapping line whose ids span two of the parent's extents.
 */
export function splitAtExtents(m: OciIdMapping[], parent: {inner: number; count: number}[]): OciIdMapping[] {
  const cuts = [...new Set(parent.flatMap((e) => [e.inner, e.inner + e.count]))].sort((a, b) => a - b);
  const out: OciIdMapping[] = [];
  for (const r of m) {
    let {containerID, hostID, size} = r;
    while (size > 0) {
      const cut = cuts.find((c) => c > hostID && c < hostID + size);
      const n = cut === undefined ? size : cut - hostID;
      out.push({containerID, hostID, size: n});
      containerID += n;
      hostID += n;
      size -= n;
    }
  }
  return out;
}

export function nsSize(file: string): number {
  return readIdMap(file).reduce((n, r) => Math.max(n, r.inner + r.count), 0);
}

/** The container's mappings for keep-id, from this namespace's size. */
export function keepIdMappings(): {uid: OciIdMapping[]; gid: OciIdMapping[]; uidNum: number; gidNum: number} {
  const ids = rootlessIds();
  if (!ids || !inUserns()) throw invalidInput('keep-id is only supported in rootless mode');
  const map = (id: number, file: string) => splitAtExtents(keepIdMapping(id, nsSize(file)), readIdMap(file));
  return {uid: map(ids.uid, '/proc/self/uid_map'), gid: map(ids.gid, '/proc/self/gid_map'), uidNum: ids.uid, gidNum: ids.gid};
}

/**
 * nomap (rootless): every id of this namespace but the user's own (0 here):
 * container 0.. -> namespace 1.., split at the parent map's extents.
 */
export function nomapMappings(): {uid: OciIdMapping[]; gid: OciIdMapping[]} {
  if (!rootlessIds() || !inUserns()) throw invalidInput('nomap is only supported in rootless mode');
  const map = (file: string) => {
    const size = nsSize(file) - 1;
    if (size < 1) throw invalidInput(`--userns=nomap needs subordinate ids (no ranges for this user in ${file.includes('uid') ? '/etc/subuid' : '/etc/subgid'})`);
    return splitAtExtents([{containerID: 0, hostID: 1, size}], readIdMap(file));
  };
  return {uid: map('/proc/self/uid_map'), gid: map('/proc/self/gid_map')};
}

/**
 * Mounts the container's root filesystem with fuse-overlayfs, showing each
 * image id u as the id the container's namespace maps to u (its
 * uidmapping/gidmapping options), so files keep their image owners inside.
 * Whiteouts (0/0 devices) and user.overlay.opaque directories are read as
 * kernel overlay reads them. allow_other: the container's ids are not the mounter's.
 */
export function mountKeepIdRootfs(m: {layers: string[]; upper: string; work: string; target: string}, uid: OciIdMapping[], gid: OciIdMapping[]): void {
  const bin = ['/usr/bin/fuse-overlayfs', '/usr/local/bin/fuse-overlayfs'].find((f) => fs.existsSync(f));
  if (!bin) throw invalidInput('a container with its own user namespace (--userns, --uidmap) needs fuse-overlayfs (Debian package fuse-overlayfs)');
  try {
    fs.closeSync(fs.openSync('/dev/fuse', 'r+'));
  } catch (err) {
    throw invalidInput(`a container with its own user namespace needs /dev/fuse, which this user cannot open (${(err as NodeJS.ErrnoException).code}): make it mode 0666`);
  }
  for (const d of [m.work, m.target]) fs.mkdirSync(d, {recursive: true, mode: 0o700});
  // The root directory comes from the upper: a new upper takes the image root's owner and mode (as mountRootfs).
  if (!fs.existsSync(m.upper)) {
    fs.mkdirSync(m.upper, {recursive: true, mode: 0o700});
    const top = m.layers.length ? fs.statSync(m.layers[m.layers.length - 1]) : undefined;
    if (top) {
      fs.chownSync(m.upper, top.uid, top.gid);
      fs.chmodSync(m.upper, top.mode & 0o7777);
    } else fs.chmodSync(m.upper, 0o755);
  }
  const dirs = [...m.layers].reverse();
  for (const d of [...dirs, m.upper, m.work]) if (/[:,\\\n]/.test(d)) throw invalidInput(`--userns=keep-id: fuse-overlayfs cannot take the path ${JSON.stringify(d)}`);
  const map = (r: OciIdMapping[]) => r.map((x) => `${x.containerID}:${x.hostID}:${x.size}`).join(':');
  const opts = ['allow_other', `lowerdir=${dirs.length ? dirs.join(':') : m.work}`, `upperdir=${m.upper}`, `workdir=${m.work}`, `uidmapping=${map(uid)}`, `gidmapping=${map(gid)}`];
  // The daemon lives on after this process: its output goes to a file, never to a pipe that closes (SIGPIPE).
  const logFile = path.join(path.dirname(m.upper), 'fuse-overlayfs.log');
  const fd = fs.openSync(logFile, 'w', 0o600);
  let r;
  try {
    r = spawnSync(bin, ['-o', opts.join(','), m.target], {stdio: ['ignore', fd, fd]});
  } finally {
    fs.closeSync(fd);
  }
  if (r.status !== 0) {
    const text = fs.readFileSync(logFile, 'utf8').split('\n').filter((l) => l && !l.startsWith('unknown argument ignored')).join('; ');
    throw storageError(`fuse-overlayfs: ${text || r.error?.message || `exit ${r.status}`}`);
  }
}
