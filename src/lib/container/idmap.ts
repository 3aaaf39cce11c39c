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
import {invalidInput} from '../util/errors';
import type {OciIdMapping} from '../rootless/keep-id';
import {subordinateRanges} from '../rootless/userns';

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

/** The host ranges a container's map uses. */
export function usedRanges(maps: OciIdMapping[] | undefined): IdRange[] {
  return (maps ?? []).map((m) => ({start: m.hostID, size: m.size}));
}

/**
 * --userns=auto (root): ranges no other container uses, from the
 * `containers` entries of /etc/subuid and /etc/subgid, as podman.
 */
export function autoMappings(size: number, others: Array<IdMappings | undefined>): IdMappings {
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

/** Does the container get a user namespace of its own (keep-id, nomap, auto, --uidmap/--gidmap)? */
export function hasOwnUserns(c: {userns?: string; idMappings?: IdMappings}): boolean {
  return c.userns === 'keep-id' || c.idMappings !== undefined;
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
