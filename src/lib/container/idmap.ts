/**
 * A container's own user namespace: --uidmap/--gidmap and
 * --userns=auto[:size=N] (root), as podman. The mappings are fixed
 * at create and kept in the record; the root filesystem is shown through
 * them by fuse-overlayfs (src/lib/rootless/keep-id.ts, as for keep-id), so
 * the image's files keep their owners inside.
 *
 * Host ids here are ids of the namespace skiff runs in: the real ones for
 * root, those of the user's namespace (0 = the user, 1.. = subordinate ids)
 * rootless.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {invalidInput} from '../util/errors';
import {splitAtExtents, type OciIdMapping} from '../rootless/keep-id';
import {readIdMap, rootlessIds, subordinateRanges} from '../rootless/userns';

export interface IdMappings {
  uid: OciIdMapping[];
  gid: OciIdMapping[];
}

/** podman's default size for --userns=auto ranges. */
export const AUTO_DEFAULT_SIZE = 1024;

const MAX_ID = 4294967295;

/** One --uidmap/--gidmap value: CONTAINER:HOST:SIZE (several may be given). */
export function parseIdMap(value: string, flag: string): OciIdMapping {
  const m = /^(\d+):(\d+):(\d+)$/.exec(value.trim());
  if (!m) throw invalidInput(`invalid ${flag} "${value}": use CONTAINER_ID:HOST_ID:SIZE`);
  const [containerID, hostID, size] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (size < 1 || containerID + size > MAX_ID || hostID + size > MAX_ID) throw invalidInput(`invalid ${flag} "${value}": the range is empty or too large`);
  return {containerID, hostID, size};
}

/** No two lines of a map may overlap, on either side (the kernel refuses such a map). */
export function checkMap(map: OciIdMapping[], flag: string): void {
  const overlaps = (a: number, n: number, b: number, m: number) => a < b + m && b < a + n;
  for (let i = 0; i < map.length; i++) {
    for (let j = i + 1; j < map.length; j++) {
      const x = map[i];
      const y = map[j];
      if (overlaps(x.containerID, x.size, y.containerID, y.size) || overlaps(x.hostID, x.size, y.hostID, y.size)) {
        throw invalidInput(`invalid ${flag}: ${x.containerID}:${x.hostID}:${x.size} and ${y.containerID}:${y.hostID}:${y.size} overlap`);
      }
    }
  }
}

/** --uidmap/--gidmap: the gid map defaults to the uid map, as podman. */
export function explicitMappings(uidmap: string[], gidmap: string[]): IdMappings | undefined {
  if (!uidmap.length && !gidmap.length) return undefined;
  const uid = uidmap.map((v) => parseIdMap(v, '--uidmap'));
  const gid = gidmap.length ? gidmap.map((v) => parseIdMap(v, '--gidmap')) : uid.map((r) => ({...r}));
  if (!uid.length) throw invalidInput('--gidmap needs --uidmap');
  checkMap(uid, '--uidmap');
  checkMap(gid, '--gidmap');
  return {uid, gid};
}

export interface IdRange {
  start: number;
  size: number;
}

/**
 * --userns=auto: the first `size` ids within `pool` that no other
 * container's map uses (first fit), as one line from container id 0.
 */
export function allocateAuto(pool: IdRange[], used: IdRange[], size: number, what: string): OciIdMapping[] {
  const busy = [...used].sort((a, b) => a.start - b.start);
  for (const r of [...pool].sort((a, b) => a.start - b.start)) {
    let start = r.start;
    for (const u of busy) {
      if (u.start + u.size <= start) continue;
      if (u.start >= start + size) break;
      start = u.start + u.size;
    }
    if (start + size <= r.start + r.size) return [{containerID: 0, hostID: start, size}];
  }
  throw invalidInput(`--userns=auto: no free range of ${size} ids left in ${what}`);
}

/** auto[:size=N] → N (default AUTO_DEFAULT_SIZE). */
export function autoSize(value: string): number {
  const opts = value.startsWith('auto:') ? value.slice(5).split(',') : [];
  let size = AUTO_DEFAULT_SIZE;
  for (const o of opts) {
    const m = /^size=(\d+)$/.exec(o);
    if (!m || Number(m[1]) < 1) throw invalidInput(`invalid --userns option "${o}": supported: size=N`);
    size = Number(m[1]);
  }
  return size;
}

/** The host id a container id maps to (the overflow id 65534 when it is not mapped). */
export function hostId(map: OciIdMapping[], id: number): number {
  const r = map.find((x) => id >= x.containerID && id < x.containerID + x.size);
  return r ? r.hostID + id - r.containerID : 65534;
}

/** The host ranges a container's map uses. */
export function usedRanges(maps: OciIdMapping[] | undefined): IdRange[] {
  return (maps ?? []).map((m) => ({start: m.hostID, size: m.size}));
}

/**
 * --userns=auto: ranges no other container uses. Root: from the
 * `containers` entries of /etc/subuid and /etc/subgid, as podman.
 * Rootless: from the ids of the user's namespace except the user's own
 * (its subordinate ids), each line split at the namespace's extents.
 */
export function autoMappings(size: number, others: Array<IdMappings | undefined>): IdMappings {
  if (rootlessIds()) {
    const pool = (file: string, what: string): IdRange[] => {
      const r = nsIds(file).filter((x) => x.size > 0);
      if (!r.length) throw invalidInput(`--userns=auto needs subordinate ids: no ranges for this user in ${what}`);
      return r;
    };
    return {
      uid: splitAtExtents(allocateAuto(pool('/proc/self/uid_map', '/etc/subuid'), others.flatMap((o) => usedRanges(o?.uid)), size, "the user's subordinate uids (/etc/subuid)"), readIdMap('/proc/self/uid_map')),
      gid: splitAtExtents(allocateAuto(pool('/proc/self/gid_map', '/etc/subgid'), others.flatMap((o) => usedRanges(o?.gid)), size, "the user's subordinate gids (/etc/subgid)"), readIdMap('/proc/self/gid_map')),
    };
  }
  const pool = (file: string): IdRange[] => {
    const r = subordinateRanges(file, 'containers').map((x) => ({start: x.start, size: x.count}));
    if (!r.length) throw invalidInput(`cannot find mappings for user "containers": no ranges for user "containers" in ${file} (--userns=auto allocates from them)`);
    return r;
  };
  return {
    uid: allocateAuto(pool('/etc/subuid'), others.flatMap((o) => usedRanges(o?.uid)), size, '/etc/subuid (user containers)'),
    gid: allocateAuto(pool('/etc/subgid'), others.flatMap((o) => usedRanges(o?.gid)), size, '/etc/subgid (user containers)'),
  };
}

/** The ids of this user namespace but 0 (the rootless user), as ranges of namespace ids. */
function nsIds(file: string): IdRange[] {
  return readIdMap(file).map((e) => (e.inner === 0 ? {start: 1, size: e.count - 1} : {start: e.inner, size: e.count}));
}

/**
 * Rootless --uidmap/--gidmap: host ids are ids of the user's namespace (0 =
 * the user, 1.. = subordinate ids), as podman; each must be mapped there.
 * Lines are split at the namespace's extents (the kernel refuses a line
 * spanning two).
 */
export function rootlessExplicitMappings(m: IdMappings): IdMappings {
  const fit = (map: OciIdMapping[], file: string, flag: string, subfile: string) => {
    const ns = readIdMap(file);
    for (const r of map) {
      let id = r.hostID;
      while (id < r.hostID + r.size) {
        const e = ns.find((x) => id >= x.inner && id < x.inner + x.count);
        if (!e) throw invalidInput(`invalid ${flag} ${r.containerID}:${r.hostID}:${r.size}: id ${id} is not mapped in the user's namespace (0 is the user, 1.. the ranges of ${subfile})`);
        id = e.inner + e.count;
      }
    }
    return splitAtExtents(map, ns);
  };
  return {uid: fit(m.uid, '/proc/self/uid_map', '--uidmap', '/etc/subuid'), gid: fit(m.gid, '/proc/self/gid_map', '--gidmap', '/etc/subgid')};
}

/**
 * runc sets up the root filesystem and bind mounts from inside the
 * container's user namespace: its root, a host id that owns none of the
 * store's directories, must be able to reach them. Adds search (x) for all
 * on each directory from dir up to / that lacks it (podman does the same);
 * nothing becomes listable or readable. Directories this process may not
 * change are left alone (runc then reports the denial).
 */
export function makeSearchable(dir: string): void {
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    try {
      const st = fs.statSync(d);
      if (st.isDirectory() && (st.mode & 0o111) !== 0o111) fs.chmodSync(d, (st.mode & 0o7777) | 0o111);
    } catch {
      /* not ours: runc reports it */
    }
    if (d === path.dirname(d)) break;
  }
}

/** Does the container get a user namespace of its own (keep-id, nomap, auto, --uidmap/--gidmap)? */
export function hasOwnUserns(c: {userns?: string; idMappings?: IdMappings}): boolean {
  return c.userns === 'keep-id' || c.userns === 'nomap' || c.idMappings !== undefined;
}

/**
 * Is the container's network namespace made by the runtime and configured
 * by skiff between create and start? For a namespace skiff would make
 * (bridge, slirp4netns, pasta) of a container with its own user namespace:
 * made outside, it would belong to the parent user namespace and runc exec,
 * which joins the container's user namespace first, could not join it.
 */
export function configuresNetnsAfterCreate(c: {userns?: string; idMappings?: IdMappings; network: {mode: string}}): boolean {
  return hasOwnUserns(c) && (c.network.mode === 'bridge' || c.network.mode === 'slirp4netns' || c.network.mode === 'pasta');
}
