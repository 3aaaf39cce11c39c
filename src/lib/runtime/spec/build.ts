/**
 * buildSpec: a container's config.json from what the user asked (the
 * container record), the image config and host facts gathered beforehand.
 * Pure: every host fact (rlimits, capabilities, device numbers, the
 * resolved user, the converted seccomp profile) comes in through SpecInput,
 * so the same input always gives the same spec and tests need no host.
 */
import type {ContainerConfig} from '../../container/types';
import type {ImageConfig} from '../../image/manifest';
import {invalidInput} from '../../util/errors';
import {capabilitySets} from './capabilities';
import {buildDevices, type HostDevice, type ResolvedDevice} from './devices';
import {buildEnv} from './env';
import {buildMounts, type EtcFiles, type ResolvedMount} from './mounts';
import type {OciNamespaceType, OciSeccomp, OciSpec} from './oci-types';
import {buildResources} from './resources';
import {buildRlimits, type HostRlimits} from './rlimits';

export const OCI_VERSION = '1.0.2-dev';

/** containers/common DefaultMaskedPaths (without the host-specific thermal_throttle glob). */
export const MASKED_PATHS: readonly string[] = [
  '/proc/acpi', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/sched_debug', '/proc/scsi', '/proc/timer_list',
  '/proc/timer_stats', '/sys/devices/virtual/powercap', '/sys/firmware', '/sys/fs/selinux', '/proc/interrupts',
];

/** containers/common DefaultReadOnlyPaths. */
export const READONLY_PATHS: readonly string[] = ['/proc/asound', '/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

/** podman's default umask (containers.conf umask = "0022"). */
export const DEFAULT_UMASK = 0o022;

export interface ResolvedUser {
  uid: number;
  gid: number;
  additionalGids: number[];
  /** From the container's /etc/passwd, "/" when the user has no entry. */
  home: string;
}

export interface SpecInput {
  config: ContainerConfig;
  image: ImageConfig;
  /** Absolute path of the mounted rootfs. */
  rootfs: string;
  user: ResolvedUser;
  /** Host paths of the per-container files bind-mounted over /etc/hosts, /etc/hostname, /etc/resolv.conf. */
  files: EtcFiles;
  /** config.mounts resolved on the host (see resolveMountRequest). */
  mounts: ResolvedMount[];
  /** config.devices with their host nodes stat'ed (see host.ts statDevice). */
  devices: ResolvedDevice[];
  /** Host device nodes for --privileged (host.ts listHostDevices); ignored otherwise. */
  hostDevices?: HostDevice[];
  /** The engine's rlimits (host.ts hostRlimits); hard values cap the container's. */
  hostRlimits: HostRlimits;
  /** The engine's capability bounding set (host.ts hostCapabilities); all capabilities when absent. */
  hostCapabilities?: string[];
  cgroupMode: 'v1' | 'v2' | 'hybrid';
  /** linux.cgroupsPath; omitted with --cgroups=disabled. */
  cgroupsPath: string;
  /** Rootless without cgroup delegation: no linux.resources nor cgroupsPath (runc then skips cgroups it cannot create). */
  noCgroups?: boolean;
  /** The profile already converted for this container's capabilities (convertSeccompProfile), or undefined for none. */
  seccomp?: OciSeccomp;
  oomScoreAdj?: number;
  /** The network namespace to join (bridge, container:, ns:); a new empty one when absent. */
  netnsPath?: string;
}

/** podman refuses namespaced sysctls whose namespace the container shares with the host. */
function checkSysctls(sysctls: Record<string, string>, hostNetwork: boolean): void {
  for (const [k, v] of Object.entries(sysctls)) {
    if (hostNetwork && k.startsWith('net.')) throw invalidInput(`sysctl ${k}=${v} can't be set since Network Namespace set to host`);
  }
}

export function buildSpec(input: SpecInput): OciSpec {
  const c = input.config;
  const hostNetwork = c.network.mode === 'host';
  checkSysctls(c.sysctls, hostNetwork);
  const caps = capabilitySets({add: c.capAdd, drop: c.capDrop, privileged: c.privileged, uid: input.user.uid, hostBounding: input.hostCapabilities});
  const {devices, rules} = buildDevices(c.privileged, input.devices, input.hostDevices ?? []);

  const namespaces: Array<{type: OciNamespaceType; path?: string}> = [{type: 'pid'}, {type: 'ipc'}, {type: 'uts'}, {type: 'mount'}];
  if (!hostNetwork) namespaces.push(input.netnsPath ? {type: 'network', path: input.netnsPath} : {type: 'network'});
  if (input.cgroupMode === 'v2') namespaces.push({type: 'cgroup'});

  const annotations: Record<string, string> = {...c.annotations};
  if (c.autoRemove) annotations['io.podman.annotations.autoremove'] = 'TRUE';
  if (c.privileged) annotations['io.podman.annotations.privileged'] = 'TRUE';
  if (c.init) annotations['io.podman.annotations.init'] = 'TRUE';

  const spec: OciSpec = {
    ociVersion: OCI_VERSION,
    process: {
      terminal: c.tty,
      user: {
        uid: input.user.uid,
        gid: input.user.gid,
        umask: DEFAULT_UMASK,
        ...(input.user.additionalGids.length ? {additionalGids: [...input.user.additionalGids]} : {}),
      },
      args: [...c.args],
      env: buildEnv({imageEnv: input.image.config?.Env ?? [], userEnv: c.env, tty: c.tty, hostname: c.hostname, home: input.user.home}),
      cwd: c.workingDir || input.image.config?.WorkingDir || '/',
      capabilities: caps,
      rlimits: buildRlimits(c.ulimits, input.hostRlimits),
      noNewPrivileges: c.noNewPrivileges,
      ...(input.oomScoreAdj !== undefined ? {oomScoreAdj: input.oomScoreAdj} : {}),
    },
    root: {path: input.rootfs, readonly: c.readOnly},
    hostname: c.hostname,
    mounts: buildMounts({
      shmSize: c.shmSize,
      privileged: c.privileged,
      readOnly: c.readOnly,
      readOnlyTmpfs: c.readOnlyTmpfs,
      files: input.files,
      user: input.mounts,
    }),
    linux: {
      namespaces,
      devices,
      maskedPaths: c.privileged ? [] : [...MASKED_PATHS],
      readonlyPaths: c.privileged ? [] : [...READONLY_PATHS],
    },
    annotations,
  };
  if (c.cgroups !== 'disabled' && !input.noCgroups) {
    spec.linux.resources = buildResources(c.resources, rules);
    spec.linux.cgroupsPath = input.cgroupsPath;
  }
  // podman's default_sysctls: unprivileged ICMP sockets (ping without CAP_NET_RAW) in a network namespace of the container's own.
  const sysctls = (c.network.mode === 'bridge' || c.network.mode === 'slirp4netns' || c.network.mode === 'pasta') && !('net.ipv4.ping_group_range' in c.sysctls) ? {'net.ipv4.ping_group_range': '0 0', ...c.sysctls} : c.sysctls;
  if (Object.keys(sysctls).length) spec.linux.sysctl = {...sysctls};
  // podman: --privileged drops the default profile, but keeps one the user named explicitly.
  const seccompApplies = c.seccomp !== 'unconfined' && !(c.privileged && (c.seccomp === 'default' || c.seccomp === ''));
  if (seccompApplies && input.seccomp) spec.linux.seccomp = input.seccomp;
  return spec;
}
