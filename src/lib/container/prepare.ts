/**
 * Everything a container needs on disk before the monitor starts it: the
 * rootfs mount, volumes (with copy-up), /etc files, the resolved user and
 * the OCI bundle's config.json. Undone by unprepare() on failure and at
 * cleanup.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type {Paths} from '../state/paths';
import type {ContainerConfig} from './types';
import type {ImageConfig} from '../image/manifest';
import {mountRootfs, unmountRootfs, isMounted} from '../storage/overlay';
import {hostUserEntry, keepIdEntries, keepIdHome, writeEtcFiles} from './etc-files';
import {resolveUser, rootfsReader} from './user';
import {
  buildSpec,
  convertSeccompProfile,
  goArch,
  hostCapabilities,
  hostRlimits,
  listHostDevices,
  loadSeccompProfile,
  resolveMountRequest,
  serializeSpec,
  statDevice,
  type OciSpec,
  type ResolvedMount,
} from '../runtime/spec';
import {cgroupMode, findBinary} from '../runtime/host';
import {containerCgroupPath} from '../runtime/cgroups';
import type {VolumeService} from './volumes';
import {invalidInput, notFound} from '../util/errors';
import {mountCountFile, readMountCount} from './rootfs';
import {rootlessCgroups} from '../rootless/defaults';
import {applicableLimits, delegation} from '../rootless/cgroups';
import {idMapped, inUserns, rootlessIds} from '../rootless/userns';
import {keepIdMappings, mountKeepIdRootfs, nomapMappings} from '../rootless/keep-id';
import {hostId, makeSearchable} from './idmap';
import {x32Syscalls} from '../util/native';

export {containerPaths, type ContainerPaths} from './paths';
import {containerPaths, type ContainerPaths} from './paths';
import {removeAll, removeFile} from '../state/remove-tree';

export interface PrepareInput {
  config: ContainerConfig;
  image: ImageConfig;
  layerDirs: string[];
  volumes: VolumeService;
  /** --sdnotify=container under systemd: conmon's relay socket appears in the container as $NOTIFY_SOCKET. */
  sdNotify?: boolean;
  /** The network namespace to join and what the container's /etc files should say about its networks. */
  net?: {netnsPath?: string; ownIps: string[]; dns: string[]; leadingDns?: string[]; gateway?: string};
}

/** Where the container sees conmon's sd_notify relay socket (podman's path). */
export const NOTIFY_DIR = '/run/notify';

const INIT_PATH = '/run/podman-init';

/** Mount, write etc files and config.json; returns the spec written. */
export async function prepare(paths: Paths, input: PrepareInput): Promise<OciSpec> {
  const c = input.config;
  const p = containerPaths(paths, c.id);
  // upper/ and work/ are made by mountRootfs: a new upper takes the image root's owner and mode.
  for (const d of [p.dir, p.userdata, p.bundle, p.rootfs, p.exitDir]) fs.mkdirSync(d, {recursive: true, mode: 0o700});
  fs.chmodSync(p.bundle, 0o700);
  // A user namespace of the container's own (keep-id, nomap; auto, --uidmap/--gidmap from the record).
  const ownMaps = c.userns === 'keep-id' ? keepIdMappings() : c.userns === 'nomap' ? nomapMappings() : c.idMappings;
  // runc mounts the rootfs and the bind mounts from inside the container's user namespace. Unless
  // the owner of skiff's directories is mapped there (keep-id maps the user), its root must be
  // able to reach them: the directories on those paths get search permission (nothing becomes
  // listable), as podman does.
  const reach = ownMaps && c.userns !== 'keep-id' ? makeSearchable : () => undefined;
  reach(p.bundle);
  reach(p.userdata);
  if (!isMounted(p.rootfs)) {
    if (ownMaps) mountKeepIdRootfs({layers: input.layerDirs, upper: p.upper, work: p.work, target: p.rootfs}, ownMaps.uid, ownMaps.gid);
    // --rm: the writable layer dies with the container, so skip overlay's syncs of it (podman mounts
    // --rm containers volatile too); unmounting a non-volatile rootfs syncs the upper's filesystem (~15 ms).
    else mountRootfs({layers: input.layerDirs, upper: p.upper, work: p.work, target: p.rootfs, volatile: c.autoRemove});
  }
  try {
    const user = resolveUser(c.user, c.groupAdd, rootfsReader(p.rootfs));
    const mounts: ResolvedMount[] = [];
    let overlays = 0;
    for (const m of c.mounts) {
      if (m.type === 'tmpfs') {
        mounts.push(resolveMountRequest(m));
        continue;
      }
      let source: string;
      if (m.type === 'bind') {
        if (!fs.existsSync(m.source)) throw invalidInput(`statfs ${m.source}: no such file or directory`);
        source = m.source;
        if (m.overlay) {
          // -v SRC:DST:O: the source is a read-only lower; writes go to a per-container upper, dropped at exit.
          const base = path.join(p.dir, 'overlay', String(overlays++));
          removeAll(base);
          const merged = path.join(base, 'merged');
          fs.mkdirSync(merged, {recursive: true, mode: 0o700});
          mountRootfs({layers: [source], upper: path.join(base, 'upper'), work: path.join(base, 'work'), target: merged});
          source = merged;
        }
      } else {
        const vol = input.volumes.find(m.name);
        if (!vol) throw notFound(`no volume with name "${m.name}" found: no such volume`);
        if (!m.noCopy) await input.volumes.copyUpFromImage(vol.name, p.rootfs, m.destination, ownMaps ? {uid: hostId(ownMaps.uid, user.uid), gid: hostId(ownMaps.gid, user.gid)} : undefined);
        source = input.volumes.mountpoint(vol.name);
        reach(source);
      }
      // :U chowns the source to the container's user, as podman does.
      if (m.chown) chownTree(source, user.uid, user.gid);
      mounts.push(m.type === 'bind' ? resolveMountRequest({...m, source}) : resolveMountRequest(m, source));
    }
    const files = writeEtcFiles(p.userdata, {hostname: c.hostname, name: c.name, network: c.network.mode, addHosts: c.addHosts, dns: c.dns, dnsSearch: c.dnsSearch, dnsOptions: c.dnsOptions, ownIps: input.net?.ownIps, networkDns: input.net?.dns, leadingDns: input.net?.leadingDns, hostGatewayIp: input.net?.gateway});
    const ids = rootlessIds();
    const identity = c.userns === 'keep-id' && ids && user.uid === ids.uid ? keepIdIdentity(p.userdata, c, input.image, user, ids, rootfsReader(p.rootfs)) : {};
    const hostCaps = hostCapabilities();
    const mode = cgroupMode();
    const devices = c.devices.map((d) => ({containerPath: d.containerPath, permissions: d.permissions, node: statDevice(d.hostPath)}));
    // Rootless in a delegated cgroup: only the limits its controllers can apply.
    const d = rootlessIds() ? delegation() : undefined;
    const spec = buildSpec({
      config: d ? {...c, resources: applicableLimits(c.resources, d.controllers).apply} : c,
      image: input.image,
      rootfs: p.rootfs,
      user,
      files: {hosts: files.hosts, hostname: files.hostname, resolvConf: files.resolvConf, ...identity},
      mounts,
      devices,
      hostDevices: c.privileged ? listHostDevices() : undefined,
      hostRlimits: hostRlimits(),
      hostCapabilities: hostCaps,
      cgroupMode: mode,
      cgroupsPath: containerCgroupPath(c.id, c.cgroupParent),
      noCgroups: !rootlessCgroups(),
      seccomp: undefined,
      netnsPath: input.net?.netnsPath,
    });
    if (!c.privileged || c.seccomp !== 'default') {
      if (c.seccomp !== 'unconfined') {
        const profile = loadSeccompProfile(c.seccomp);
        const bounding = spec.process?.capabilities?.bounding ?? [];
        const arch = goArch();
        // A kernel that cannot run x32 system calls: runc need not compile SCMP_ARCH_X32 for the
        // default profile (seccomp.ts). A profile the user names is passed on as written.
        const x32 = (c.seccomp === 'default' || c.seccomp === '') && arch === 'amd64' && x32Syscalls() === 'unsupported' ? false : undefined;
        const converted = convertSeccompProfile(profile, {arch, capabilities: bounding, x32});
        if (converted && spec.linux) spec.linux.seccomp = converted;
      }
    }
    if (ownMaps && spec.linux) {
      spec.linux.namespaces.push({type: 'user'});
      spec.linux.uidMappings = ownMaps.uid;
      spec.linux.gidMappings = ownMaps.gid;
      // sysfs may only be mounted by the user namespace that owns the network namespace: one made
      // outside the container's own (slirp4netns, pasta, a joined one) gets the host's /sys bound
      // read-only instead, as podman does.
      // Likewise net.* sysctls: the default ping_group_range is dropped (one asked for by --sysctl stays, and fails).
      if (input.net?.netnsPath) {
        for (const m of spec.mounts ?? []) {
          if (m.destination === '/sys' && m.type === 'sysfs') Object.assign(m, {type: 'bind', source: '/sys', options: ['rprivate', 'nosuid', 'noexec', 'nodev', 'ro', 'rbind']});
        }
        if (spec.linux.sysctl && !('net.ipv4.ping_group_range' in c.sysctls)) delete spec.linux.sysctl['net.ipv4.ping_group_range'];
      }
    }
    // Rootless with a single id (no /etc/subgid range), or a container map without gid 5 (tty): devpts refuses gid=5, as podman drops it.
    const gid5 = ownMaps ? ownMaps.gid.some((r) => 5 >= r.containerID && 5 < r.containerID + r.size) : !inUserns() || idMapped('/proc/self/gid_map', 5);
    if (!gid5) {
      for (const m of spec.mounts ?? []) if (m.type === 'devpts') m.options = m.options?.filter((o) => o !== 'gid=5');
    }
    if (c.init) {
      const catatonit = findBinary('catatonit') ?? '/usr/libexec/podman/catatonit';
      if (!fs.existsSync(catatonit)) throw invalidInput('--init needs catatonit, which is not installed (Debian package catatonit)');
      spec.mounts = [...(spec.mounts ?? []), {destination: INIT_PATH, type: 'bind', source: catatonit, options: ['bind', 'ro']}];
      if (spec.process) spec.process.args = [INIT_PATH, '--', ...(spec.process.args ?? [])];
    }
    if (input.sdNotify) {
      // conmon binds notify/notify.sock in the bundle (its --full-attach directory).
      const dir = path.join(p.bundle, 'notify');
      fs.mkdirSync(dir, {recursive: true, mode: 0o755});
      spec.mounts = [...(spec.mounts ?? []), {destination: NOTIFY_DIR, type: 'bind', source: dir, options: ['bind', 'rw', 'nosuid', 'nodev', 'noexec']}];
      if (spec.process) spec.process.env = [...(spec.process.env ?? []).filter((e) => !e.startsWith('NOTIFY_SOCKET=')), `NOTIFY_SOCKET=${NOTIFY_DIR}/notify.sock`];
    }
    fs.writeFileSync(path.join(p.bundle, 'config.json'), serializeSpec(spec), {mode: 0o600});
    return spec;
  } catch (err) {
    unprepare(paths, c.id);
    throw err;
  }
}

/**
 * keep-id: /etc/passwd and /etc/group copies naming the user when the image
 * has no entry for its ids (podman), so whoami and id -un work; written to
 * userdata and bind-mounted. The added entry's home becomes $HOME.
 */
function keepIdIdentity(userdata: string, c: ContainerConfig, image: ImageConfig, user: {uid: number; gid: number; home: string}, ids: {uid: number; gid: number}, read: (p: string) => string | undefined): {passwd?: string; group?: string} {
  const host = hostUserEntry(ids.uid, ids.gid);
  const home = keepIdHome(host.home, c.mounts.map((m) => m.destination), c.workingDir || image.config?.WorkingDir || '/');
  const add = keepIdEntries({passwd: read('/etc/passwd'), group: read('/etc/group')}, {...host, uid: user.uid, gid: user.gid, home});
  const out: {passwd?: string; group?: string} = {};
  for (const k of ['passwd', 'group'] as const) {
    const text = add[k];
    if (text === undefined) continue;
    out[k] = path.join(userdata, k);
    fs.writeFileSync(out[k]!, text, {mode: 0o644});
  }
  if (add.passwd !== undefined) user.home = home;
  return out;
}

/** lchown every entry below dir that is not owned by uid:gid yet (never follows symlinks). */
function chownTree(dir: string, uid: number, gid: number): void {
  const st = fs.lstatSync(dir);
  if (st.uid !== uid || st.gid !== gid) fs.lchownSync(dir, uid, gid);
  if (!st.isDirectory()) return;
  for (const name of fs.readdirSync(dir)) chownTree(path.join(dir, name), uid, gid);
}

/**
 * Unmount the rootfs (and :O volume overlays) and drop the bundle (idempotent).
 * The rootfs stays mounted while `skiff mount` (or a cp/commit in progress)
 * holds it, unless `force` (container removal). `keepFiles`: unmount only
 * (a removal deletes the whole bundle directory with the record).
 */
export function unprepare(paths: Paths, id: string, opts: {force?: boolean; keepFiles?: boolean} = {}): void {
  const p = containerPaths(paths, id);
  const overlays = path.join(p.dir, 'overlay');
  if (fs.existsSync(overlays)) {
    for (const n of fs.readdirSync(overlays)) unmountRootfs(path.join(overlays, n, 'merged'));
    removeAll(overlays);
  }
  if (opts.force) removeFile(mountCountFile(paths, id));
  if (opts.force || readMountCount(paths, id) === 0) unmountRootfs(p.rootfs);
  if (opts.keepFiles) return;
  for (const f of ['config.json', 'attach', 'ctl', 'winsz', 'pidfile', 'conmon.pid', 'oci-log', 'exit', 'oom', 'cleanup-claim']) removeFile(path.join(p.bundle, f));
  removeAll(path.join(p.bundle, 'notify'));
  removeAll(path.join(p.bundle, 'exec')); // exec sessions (exec.ts)
}
