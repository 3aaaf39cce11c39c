/**
 * Named volumes: root/volumes/<name>/{_data/, volume.json}.
 *
 * A volume directory appears in volumes/ only when complete: it is built in
 * root/tmp/volume-<name>-<rand>/ and renamed into place, so "present" means
 * "complete"; removal renames it into root/tmp/ first, so it disappears in
 * one step. Leftovers of killed processes are swept by cleanupTemp().
 *
 * Locking (see state/lock.ts): one lock per volume, `volume-<name>`, ranked
 * after `container-<id>` and before `network-*`. Create, remove, copy-up
 * and mount counting hold it. A container that uses a volume must be
 * recorded while its creator holds this lock, so removal, which checks the
 * users under the same lock, never misses one. Removing a volume's
 * containers (rm --force) happens before the volume lock is taken, since
 * container locks rank earlier.
 *
 * Who uses a volume is the caller's knowledge (container records), passed
 * in as a callback; this module never reads container state itself.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {randomBytes} from 'node:crypto';
import type {Paths} from '../state/paths';
import {ensureDir, readJsonIfExists, writeJsonAtomic} from '../state/atomic';
import {deleteOnRelease, withLock} from '../state/lock';
import {conflict, errnoCode, invalidInput, isSkiffError, messageOf, notFound, SkiffError, storageError, unsupported} from '../util/errors';
import {parseTimeOrDuration} from '../util/human';
import {log} from '../util/log';
import {mount, umount2, MNT, MS} from '../util/native';
import {removeTree} from '../state/remove-tree';
import {volumeEvent} from '../events/emit';
import {removeStaleTemp} from '../state/stale-temp';
import {copyTree} from '../storage/overlay';
import {LayerState} from '../storage/unpack/layer-state';
import {resolveDirInRoot} from '../storage/unpack/scoped-resolve';
import type {ContainerConfig} from './types';
import {ContainerStore} from './store';

const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const OPTION_KEYS = new Set(['type', 'device', 'o']);

export interface VolumeRecord {
  name: string;
  driver: 'local';
  /** RFC 3339. */
  createdAt: string;
  labels: Record<string, string>;
  /** Driver options as given (-o type=..., device=..., o=... without uid/gid). */
  options: Record<string, string>;
  uid?: number;
  gid?: number;
  /** Created for one container (-v /path), removed with it. */
  anonymous: boolean;
  /** The image's content at the mount path is copied in on first use. */
  needsCopyUp: boolean;
  /** _data takes the owner of the directory it is first mounted over. */
  needsChown: boolean;
  /** Containers currently having it mounted. */
  mountCount: number;
}

/** podman's `volume inspect` object (define.InspectVolumeData), with every field present. */
export interface VolumeInspect {
  Name: string;
  Driver: string;
  Mountpoint: string;
  CreatedAt: string;
  Labels: Record<string, string>;
  Scope: 'local';
  Options: Record<string, string>;
  UID: number;
  GID: number;
  Anonymous: boolean;
  MountCount: number;
  NeedsCopyUp: boolean;
  NeedsChown: boolean;
}

export interface VolumeCreateOptions {
  /** Omitted: a random 64-hex name. */
  name?: string;
  driver?: string;
  labels?: Record<string, string>;
  /** -o KEY=VALUE, already split. */
  options?: Record<string, string>;
  anonymous?: boolean;
  /** --ignore: return the existing volume instead of failing. */
  ignoreExisting?: boolean;
}

export interface VolumeRemoveOptions {
  force?: boolean;
  all?: boolean;
  /** With force: remove the containers that use the volume first (takes container locks; called before the volume lock). */
  removeContainers?: (ids: string[]) => Promise<void>;
}

export interface VolumeRemoveReport {
  rawInput: string;
  /** The volume's name when it was removed (or found). */
  name?: string;
  error?: SkiffError;
  /** The error is "in use by containers" (podman exits 2 for it). */
  inUse?: boolean;
}

/** Container IDs using the named volume. */
export type VolumeUsers = (name: string) => string[];

export function validateVolumeName(name: string): void {
  if (!NAME_RE.test(name)) throw invalidInput(`volume name "${name}": names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*: invalid argument`);
}

/** KEY=VALUE list (--label, --opt) to a record; a bare KEY maps to "". */
export function parseKeyValues(list: readonly string[] = []): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of list) {
    const i = item.indexOf('=');
    const key = i < 0 ? item : item.slice(0, i);
    if (key === '') throw invalidInput(`invalid key=value "${item}": the key is empty`);
    out[key] = i < 0 ? '' : item.slice(i + 1);
  }
  return out;
}

/** The containers (from their records) whose mounts name the volume. */
export function containersUsingVolume(records: ReadonlyArray<{config: Pick<ContainerConfig, 'id' | 'mounts'>}>, name: string): string[] {
  return records.filter((r) => r.config.mounts.some((m) => m.type === 'volume' && m.name === name)).map((r) => r.config.id);
}

interface ParsedOptions {
  options: Record<string, string>;
  uid?: number;
  gid?: number;
  noCopy: boolean;
}

/** The local driver's -o keys: type, device, o (uid=, gid=, nocopy/copy are taken out of o). */
export function parseDriverOptions(raw: Record<string, string>): ParsedOptions {
  const options: Record<string, string> = {};
  let uid: number | undefined;
  let gid: number | undefined;
  let noCopy = false;
  for (const [rawKey, value] of Object.entries(raw)) {
    const key = rawKey.toLowerCase();
    if (key === 'nocopy' || key === 'copy') {
      noCopy = key === 'nocopy';
      continue;
    }
    if (!OPTION_KEYS.has(key)) {
      if (['size', 'inodes', 'noquota', 'uid', 'gid', 'timeout'].includes(key)) throw unsupported(`volume option ${rawKey} is not supported by skiff's local driver`);
      throw invalidInput(`invalid mount option ${rawKey} for driver 'local': invalid argument`);
    }
    if (key !== 'o') {
      options[key] = value;
      continue;
    }
    const rest: string[] = [];
    for (const o of value.split(',')) {
      const [k, v] = o.includes('=') ? [o.slice(0, o.indexOf('=')), o.slice(o.indexOf('=') + 1)] : [o, undefined];
      const id = (what: string) => {
        if (v === undefined || !/^\d+$/.test(v)) throw invalidInput(`${what} option must provide a numeric ${what.toUpperCase()}: "${o}"`);
        return Number(v);
      };
      if (k.toLowerCase() === 'uid') uid = id('uid');
      else if (k.toLowerCase() === 'gid') gid = id('gid');
      else if (k === 'nocopy') noCopy = true;
      else if (k === 'copy') noCopy = false;
      else if (o !== '') rest.push(o);
    }
    if (rest.length) options.o = rest.join(',');
  }
  if (options.device !== undefined && options.type === undefined && !isBindOptions(options)) {
    throw invalidInput('volume option device needs a type (-o type=...) or o=bind');
  }
  if (options.type !== undefined && options.device === undefined) throw invalidInput(`volume option type=${options.type} needs a device (-o device=...)`);
  if (isBindOptions(options)) {
    const dev = options.device as string;
    if (!path.isAbsolute(dev)) throw invalidInput(`invalid volume option device for driver 'local': bind source "${dev}" must be an absolute path`);
    if (!fs.existsSync(dev)) throw invalidInput(`invalid volume option device for driver 'local': stat ${dev}: no such file or directory`);
  }
  return {options, uid, gid, noCopy};
}

function isBindOptions(options: Record<string, string>): boolean {
  if (options.type === 'bind') return true;
  return (options.o ?? '').split(',').some((o) => o === 'bind' || o === 'rbind');
}

/** mount(8)-style option words: flags, and what goes to the filesystem as data. */
const FLAG_WORDS: Record<string, [set: number, clear: number]> = {
  ro: [MS.RDONLY, 0],
  rw: [0, MS.RDONLY],
  nodev: [MS.NODEV, 0],
  dev: [0, MS.NODEV],
  nosuid: [MS.NOSUID, 0],
  suid: [0, MS.NOSUID],
  noexec: [MS.NOEXEC, 0],
  exec: [0, MS.NOEXEC],
  bind: [MS.BIND, 0],
  rbind: [MS.BIND | MS.REC, 0],
  defaults: [0, 0],
};

export function mountFlags(o: string): {flags: number; data: string} {
  let flags = 0;
  const data: string[] = [];
  for (const word of o.split(',').filter(Boolean)) {
    const f = FLAG_WORDS[word];
    if (f) flags = (flags | f[0]) & ~f[1];
    else data.push(word);
  }
  return {flags, data: data.join(',')};
}

function randomName(): string {
  return randomBytes(32).toString('hex');
}

function isDirEmpty(dir: string): boolean {
  return fs.readdirSync(dir).length === 0;
}

export class VolumeService {
  constructor(
    private readonly paths: Paths,
    private readonly usedBy: VolumeUsers,
  ) {}

  dir(name: string): string {
    return path.join(this.paths.volumesDir, name);
  }

  mountpoint(name: string): string {
    return path.join(this.dir(name), '_data');
  }

  private recordFile(name: string): string {
    return path.join(this.dir(name), 'volume.json');
  }

  private lockName(name: string): string {
    return `volume-${name}`;
  }

  /** The record of exactly this name, if it exists. */
  get(name: string): VolumeRecord | undefined {
    if (!NAME_RE.test(name)) return undefined;
    return readJsonIfExists<VolumeRecord>(this.recordFile(name));
  }

  exists(name: string): boolean {
    return this.get(name) !== undefined;
  }

  list(): VolumeRecord[] {
    let names: string[];
    try {
      names = fs.readdirSync(this.paths.volumesDir);
    } catch {
      return [];
    }
    const out: VolumeRecord[] = [];
    for (const n of names.sort()) {
      try {
        const rec = this.get(n);
        if (rec) out.push(rec);
      } catch (err) {
        log.warn(`volume ${n}: unreadable record: ${messageOf(err)}`);
      }
    }
    return out;
  }

  /** By full name, else by a unique name prefix (as podman). */
  resolve(input: string): VolumeRecord {
    const exact = this.get(input);
    if (exact) return exact;
    if (input !== '') {
      const hits = this.list().filter((v) => v.name.startsWith(input));
      if (hits.length === 1) return hits[0];
      if (hits.length > 1) throw conflict(`more than one result for volume name ${input}: volume already exists`);
    }
    throw notFound(`no volume with name "${input}" found: no such volume`);
  }

  find(input: string): VolumeRecord | undefined {
    try {
      return this.resolve(input);
    } catch (err) {
      if (isSkiffError(err, 'not-found')) return undefined;
      throw err;
    }
  }

  inspect(rec: VolumeRecord): VolumeInspect {
    return {
      Name: rec.name,
      Driver: rec.driver,
      Mountpoint: this.mountpoint(rec.name),
      CreatedAt: rec.createdAt,
      Labels: rec.labels,
      Scope: 'local',
      Options: rec.options,
      UID: rec.uid ?? 0,
      GID: rec.gid ?? 0,
      Anonymous: rec.anonymous,
      MountCount: rec.mountCount,
      NeedsCopyUp: rec.needsCopyUp,
      NeedsChown: rec.needsChown,
    };
  }

  async create(opts: VolumeCreateOptions = {}): Promise<VolumeRecord> {
    const driver = opts.driver || 'local';
    if (driver !== 'local') throw unsupported(`volume driver "${driver}" is not supported: skiff has only the "local" driver`);
    const name = opts.name ?? randomName();
    validateVolumeName(name);
    const parsed = parseDriverOptions(opts.options ?? {});
    let fresh = false;
    const made = await withLock(this.paths, this.lockName(name), () => {
      const existing = this.get(name);
      if (existing) {
        if (opts.ignoreExisting) return existing;
        throw conflict(`volume with name ${name} already exists: volume already exists`);
      }
      const rec: VolumeRecord = {
        name,
        driver: 'local',
        createdAt: new Date().toISOString(),
        labels: {...(opts.labels ?? {})},
        options: parsed.options,
        uid: parsed.uid,
        gid: parsed.gid,
        anonymous: opts.anonymous ?? false,
        needsCopyUp: !parsed.noCopy,
        needsChown: parsed.uid === undefined && parsed.gid === undefined,
        mountCount: 0,
      };
      ensureDir(this.paths.tmpDir);
      ensureDir(this.paths.volumesDir);
      const tmp = path.join(this.paths.tmpDir, `volume-${name}-${randomBytes(4).toString('hex')}`);
      fs.mkdirSync(tmp, {mode: 0o700});
      try {
        const data = path.join(tmp, '_data');
        fs.mkdirSync(data);
        fs.chmodSync(data, 0o755);
        if (rec.uid !== undefined || rec.gid !== undefined) fs.chownSync(data, rec.uid ?? 0, rec.gid ?? 0);
        writeJsonAtomic(path.join(tmp, 'volume.json'), rec);
        // A leftover empty directory of that name would be replaced; a real volume never is (ENOTEMPTY).
        fs.renameSync(tmp, this.dir(name));
      } catch (err) {
        removeTree(tmp);
        if (errnoCode(err) === 'ENOTEMPTY' || errnoCode(err) === 'EEXIST') throw conflict(`volume with name ${name} already exists: volume already exists`);
        throw isSkiffError(err) ? err : storageError(`creating volume ${name}: ${messageOf(err)}`, err);
      }
      fresh = true;
      return rec;
    });
    if (fresh) await volumeEvent(this.paths, name, 'create');
    return made;
  }

  /**
   * Remove volumes (or all with opts.all). One report per input, so
   * `volume rm a b c` removes what it can. A volume in use is refused
   * unless force, which first removes its containers via the callback.
   */
  async remove(inputs: string[], opts: VolumeRemoveOptions = {}): Promise<VolumeRemoveReport[]> {
    const targets: Array<{rawInput: string; name?: string; error?: SkiffError}> = opts.all
      ? this.list().map((v) => ({rawInput: v.name, name: v.name}))
      : inputs.map((input) => {
          try {
            return {rawInput: input, name: this.resolve(input).name};
          } catch (err) {
            if (isSkiffError(err)) return {rawInput: input, error: err};
            throw err;
          }
        });
    const reports: VolumeRemoveReport[] = [];
    for (const t of targets) {
      if (!t.name) {
        reports.push({rawInput: t.rawInput, error: t.error});
        continue;
      }
      try {
        await this.removeOne(t.name, opts);
        reports.push({rawInput: t.rawInput, name: t.name});
      } catch (err) {
        if (!isSkiffError(err)) throw err;
        reports.push({rawInput: t.rawInput, name: t.name, error: err, inUse: err instanceof VolumeInUseError});
      }
    }
    return reports;
  }

  private async removeOne(name: string, opts: {force?: boolean; removeContainers?: (ids: string[]) => Promise<void>}): Promise<void> {
    if (opts.force && opts.removeContainers) {
      const users = this.usedBy(name);
      if (users.length) await opts.removeContainers(users);
    }
    await withLock(this.paths, this.lockName(name), () => {
      const rec = this.get(name);
      if (!rec) throw notFound(`no volume with name "${name}" found: no such volume`);
      const users = this.usedBy(name);
      if (users.length) throw new VolumeInUseError(name, users);
      if (rec.mountCount > 0 && this.needsMount(rec)) this.unmountData(rec);
      ensureDir(this.paths.tmpDir);
      const trash = path.join(this.paths.tmpDir, `removing-volume-${name}-${randomBytes(4).toString('hex')}`);
      fs.renameSync(this.dir(name), trash);
      removeTree(trash);
      deleteOnRelease(this.paths.lockFile(this.lockName(name)));
    });
    await volumeEvent(this.paths, name, 'remove');
  }

  /**
   * Remove every volume no container uses and that matches the filters
   * (label=, label!=, until=). Returns the names removed.
   */
  async prune(filters: string[] = []): Promise<string[]> {
    const keep = buildVolumeFilter(filters, {dangling: (n) => this.usedBy(n).length === 0, resolve: (n) => this.resolve(n)}, PRUNE_FILTERS);
    const removed: string[] = [];
    for (const v of this.list().filter(keep)) {
      if (this.usedBy(v.name).length) continue;
      try {
        await this.removeOne(v.name, {});
        removed.push(v.name);
      } catch (err) {
        if (err instanceof VolumeInUseError || isSkiffError(err, 'not-found')) continue; // taken or removed meanwhile
        throw err;
      }
    }
    return removed;
  }

  /** volume ls --filter: name, label, label!, driver, scope, opt, dangling, until, after/since. */
  filter(volumes: VolumeRecord[], filters: string[]): VolumeRecord[] {
    const keep = buildVolumeFilter(filters, {dangling: (n) => this.usedBy(n).length === 0, resolve: (n) => this.resolve(n)}, LIST_FILTERS);
    return volumes.filter(keep);
  }

  /**
   * First use of a volume by a container: when the volume still NeedsCopyUp
   * and _data is empty, copy the image's content at containerPath (in the
   * container's rootfs) into it, owners, modes, xattrs, symlinks and
   * hardlinks preserved, and give _data the owner and mode of that
   * directory (NeedsChown; `owner` when the image has no such directory).
   * Symlinks in containerPath are resolved inside
   * the rootfs, never on the host. Clears both flags either way; returns
   * whether anything was copied.
   */
  async copyUpFromImage(name: string, rootfsDir: string, containerPath: string, owner?: {uid: number; gid: number}): Promise<boolean> {
    if (!path.posix.isAbsolute(containerPath)) throw invalidInput(`volume destination "${containerPath}" must be an absolute path`);
    return withLock(this.paths, this.lockName(name), () => {
      const rec = this.get(name);
      if (!rec) throw notFound(`no volume with name "${name}" found: no such volume`);
      if (!rec.needsCopyUp && !rec.needsChown) return false;
      const data = this.mountpoint(name);
      const root = path.resolve(rootfsDir);
      const comps = containerPath.split('/').filter(Boolean);
      const state = new LayerState(root, false);
      let real: string | undefined;
      try {
        real = resolveDirInRoot(state, comps, comps.length, {create: false, name: containerPath, nonDirIsMissing: true});
      } catch (err) {
        throw storageError(`volume ${name}: cannot resolve ${containerPath} in the container: ${messageOf(err)}`, err);
      }
      let copied = false;
      if (real !== undefined) {
        const src = real === '' ? root : path.join(root, real);
        const st = fs.lstatSync(src);
        if (rec.needsCopyUp && isDirEmpty(data) && !isDirEmpty(src)) {
          try {
            copyTree(src, data);
            copied = true;
          } catch (err) {
            for (const child of fs.readdirSync(data)) removeTree(path.join(data, child));
            throw storageError(`volume ${name}: copying ${containerPath} from the image: ${messageOf(err)}`, err);
          }
        }
        if (rec.needsChown) {
          fs.lchownSync(data, st.uid, st.gid);
          fs.chmodSync(data, st.mode & 0o7777);
        }
      } else if (rec.needsChown && owner) {
        // Not in the image: the container's user owns it (a container with its own user namespace).
        fs.lchownSync(data, owner.uid, owner.gid);
      }
      writeJsonAtomic(this.recordFile(name), {...rec, needsCopyUp: false, needsChown: false});
      return copied;
    });
  }

  private needsMount(rec: VolumeRecord): boolean {
    return rec.options.device !== undefined;
  }

  private mountData(rec: VolumeRecord): void {
    const target = this.mountpoint(rec.name);
    const {flags, data} = mountFlags(rec.options.o ?? '');
    const device = rec.options.device as string;
    try {
      if (isBindOptions(rec.options)) {
        mount(device, target, '', flags & (MS.BIND | MS.REC), '');
        const extra = flags & ~(MS.BIND | MS.REC);
        if (extra) mount('', target, '', MS.REMOUNT | MS.BIND | extra, '');
      } else {
        mount(device, target, rec.options.type as string, flags, data);
      }
    } catch (err) {
      try {
        umount2(target, MNT.DETACH);
      } catch {
        /* nothing was mounted */
      }
      throw storageError(`mounting volume ${rec.name}: ${messageOf(err)}`, err);
    }
  }

  private unmountData(rec: VolumeRecord): void {
    try {
      umount2(this.mountpoint(rec.name), 0);
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'EINVAL' || code === 'ENOENT') return;
      if (code !== 'EBUSY') throw storageError(`unmounting volume ${rec.name}: ${messageOf(err)}`, err);
      umount2(this.mountpoint(rec.name), MNT.DETACH);
    }
  }

  /**
   * A container starts using the volume: counts the mount and, for a volume
   * with -o type/device, mounts that filesystem on _data on first use.
   * Returns the host path to bind into the container.
   */
  async mount(name: string): Promise<string> {
    return withLock(this.paths, this.lockName(name), () => {
      const rec = this.get(name);
      if (!rec) throw notFound(`no volume with name "${name}" found: no such volume`);
      if (rec.mountCount === 0 && this.needsMount(rec)) this.mountData(rec);
      writeJsonAtomic(this.recordFile(name), {...rec, mountCount: rec.mountCount + 1});
      return this.mountpoint(name);
    });
  }

  /** A container stopped using it: the last one out unmounts a device-backed volume. */
  async unmount(name: string): Promise<void> {
    await withLock(this.paths, this.lockName(name), () => {
      const rec = this.get(name);
      if (!rec || rec.mountCount === 0) return;
      if (rec.mountCount === 1 && this.needsMount(rec)) this.unmountData(rec);
      writeJsonAtomic(this.recordFile(name), {...rec, mountCount: rec.mountCount - 1});
    });
  }

  /** Remove leftovers of killed creates and removals whose volume lock is free. */
  cleanupTemp(): string[] {
    return removeStaleTemp(this.paths.tmpDir, (n) => {
      const m = /^(?:removing-)?volume-(.+)-[0-9a-f]{8}$/.exec(n);
      return m && NAME_RE.test(m[1]) ? this.paths.lockFile(this.lockName(m[1])) : undefined;
    });
  }

}

/** The service with users found in the container records (until the engine facade wires it). */
export function volumeServiceFor(paths: Paths): VolumeService {
  const store = new ContainerStore(paths);
  return new VolumeService(paths, (name) => containersUsingVolume(store.list(), name));
}

/** podman's JSON for a volume: the omitempty fields (UID, GID, Anonymous, NeedsCopyUp, NeedsChown) left out when zero. */
export function volumeJson(v: VolumeInspect): Partial<VolumeInspect> {
  const out: Partial<VolumeInspect> = {...v};
  for (const k of ['UID', 'GID', 'Anonymous', 'NeedsCopyUp', 'NeedsChown'] as const) if (!out[k]) delete out[k];
  return out;
}

export class VolumeInUseError extends SkiffError {
  constructor(
    readonly volume: string,
    readonly containers: string[],
  ) {
    super('conflict', `volume ${volume} is being used by the following container(s): ${containers.join(', ')}: volume is being used`);
  }
}

// --- filters ---------------------------------------------------------------------

const LIST_FILTERS = ['name', 'label', 'label!', 'driver', 'scope', 'opt', 'dangling', 'until', 'after', 'since'];
const PRUNE_FILTERS = ['label', 'label!', 'until', 'after', 'since'];

interface FilterContext {
  dangling(name: string): boolean;
  resolve(input: string): VolumeRecord;
}

/** Every KEY[=VALUE] label filter must hold (containers/common MatchLabelFilters). */
function matchLabels(values: string[], labels: Record<string, string>): boolean {
  return values.every((v) => {
    const i = v.indexOf('=');
    return i < 0 ? v in labels : labels[v.slice(0, i)] === v.slice(i + 1);
  });
}

/**
 * podman's volume filters: different keys AND together; the values of one
 * key OR together, except label (every one must hold).
 */
export function buildVolumeFilter(filters: string[], ctx: FilterContext, allowed = LIST_FILTERS): (v: VolumeRecord) => boolean {
  const byKey = new Map<string, string[]>();
  for (const f of filters) {
    const i = f.indexOf('=');
    if (i <= 0) throw invalidInput(`invalid filter "${f}": expected KEY=VALUE`);
    const k = f.slice(0, i);
    byKey.set(k, [...(byKey.get(k) ?? []), f.slice(i + 1)]);
  }
  const preds: Array<(v: VolumeRecord) => boolean> = [];
  for (const [key, values] of byKey) {
    if (!allowed.includes(key)) throw invalidInput(`"${key}" is an invalid volume filter`);
    switch (key) {
      case 'name': {
        const res = values.map((v) => {
          try {
            return new RegExp(v);
          } catch {
            throw invalidInput(`invalid name filter "${v}": not a regular expression`);
          }
        });
        preds.push((v) => res.some((re) => re.test(v.name)));
        break;
      }
      case 'label':
        preds.push((v) => matchLabels(values, v.labels));
        break;
      case 'label!':
        preds.push((v) => !matchLabels(values, v.labels));
        break;
      case 'driver':
        preds.push((v) => values.includes(v.driver));
        break;
      case 'scope':
        preds.push(() => values.includes('local'));
        break;
      case 'opt':
        preds.push((v) =>
          values.some((f) => {
            const i = f.indexOf('=');
            const k = i < 0 ? f : f.slice(0, i);
            return k in v.options && (i < 0 || f.slice(i + 1) === '' || v.options[k] === f.slice(i + 1));
          }),
        );
        break;
      case 'dangling': {
        const want = values.map((x) => {
          const l = x.toLowerCase();
          if (!['true', '1', 'false', '0'].includes(l)) throw invalidInput(`"${x}" is not a valid value for the "dangling" filter - must be true or false`);
          return l === 'true' || l === '1';
        });
        preds.push((v) => want.some((w) => ctx.dangling(v.name) === w));
        break;
      }
      case 'until': {
        const limits = values.map((x) => {
          const t = parseTimeOrDuration(x);
          if (t === undefined) throw invalidInput(`invalid until filter "${x}": not a time or a duration`);
          return t;
        });
        const until = Math.max(...limits);
        preds.push((v) => Date.parse(v.createdAt) < until);
        break;
      }
      case 'after':
      case 'since': {
        const after = Math.min(...values.map((x) => Date.parse(ctx.resolve(x).createdAt)));
        preds.push((v) => Date.parse(v.createdAt) > after);
        break;
      }
    }
  }
  return (v) => preds.every((p) => p(v));
}
