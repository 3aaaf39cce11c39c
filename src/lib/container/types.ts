/**
 * The container record: what the user asked for at create time (config,
 * immutable except the name) and what has happened since (state). Both are
 * JSON files under root/containers/<id>/, written atomically under the
 * container's lock. Everything a later invocation needs is on disk.
 */

import type {ContainerNetState, NetworkRequest, PortMapping} from '../network/types';
import type {SlirpOptions} from '../network/slirp-options';

export type ContainerStatus = 'created' | 'initialized' | 'running' | 'paused' | 'stopping' | 'stopped' | 'exited' | 'removing';

/** A mount as the user asked for it (-v, --mount, --tmpfs, --volumes-from), already parsed and validated. */
export type MountRequest =
  | {type: 'bind'; source: string; destination: string; options: string[]; relabel?: 'z' | 'Z'; chown?: boolean; overlay?: boolean}
  | {type: 'volume'; name: string; destination: string; options: string[]; anonymous?: boolean; noCopy?: boolean; chown?: boolean}
  | {type: 'tmpfs'; destination: string; options: string[]};

export interface Ulimit {
  /** RLIMIT_ name without the prefix, lowercase: nofile, nproc, core... */
  name: string;
  soft: number;
  hard: number;
}

export interface DeviceRequest {
  hostPath: string;
  containerPath: string;
  permissions: string; // "rwm" subset
}

export interface ResourceLimits {
  memory?: number; // bytes
  memorySwap?: number; // bytes, -1 unlimited
  memoryReservation?: number;
  cpus?: number; // e.g. 1.5
  /** CFS quota and period in microseconds (--cpu-quota, --cpu-period); --cpus wins when both are set. */
  cpuQuota?: number;
  cpuPeriod?: number;
  cpuShares?: number;
  cpusetCpus?: string;
  cpusetMems?: string;
  pidsLimit?: number; // -1 unlimited
  blkioWeight?: number;
}

export type RestartPolicy = {name: 'no'} | {name: 'on-failure'; maxRetries: number} | {name: 'always'} | {name: 'unless-stopped'};

export interface ContainerConfig {
  id: string;
  name: string;
  created: string;
  /** Image ID (hex) and the name the user gave. */
  image: string;
  imageName: string;
  /** The final process: entrypoint + command, docker semantics already applied. */
  args: string[];
  /** What the user passed, for inspect (Config.Entrypoint / Config.Cmd). */
  entrypoint: string[] | null;
  cmd: string[] | null;
  env: string[];
  workingDir: string;
  /** As given: "user[:group]" (names or numbers); resolved at start from the container's /etc/passwd. */
  user: string;
  groupAdd: string[];
  hostname: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  tty: boolean;
  /** -i: keep stdin open. */
  interactive: boolean;
  mounts: MountRequest[];
  readOnly: boolean;
  readOnlyTmpfs: boolean;
  shmSize: number;
  capAdd: string[];
  capDrop: string[];
  privileged: boolean;
  /** "default" (podman's profile), "unconfined", or a path to a JSON profile. */
  seccomp: string;
  noNewPrivileges: boolean;
  sysctls: Record<string, string>;
  devices: DeviceRequest[];
  resources: ResourceLimits;
  ulimits: Ulimit[];
  cgroups: 'enabled' | 'disabled';
  /** --userns: '' (host: skiff's namespace), keep-id and nomap (rootless), auto, or private (--uidmap/--gidmap). Absent in older records. */
  userns?: '' | 'keep-id' | 'nomap' | 'auto' | 'private';
  /** The container's own user namespace (auto, --uidmap/--gidmap), fixed at create. */
  idMappings?: {uid: Array<{containerID: number; hostID: number; size: number}>; gid: Array<{containerID: number; hostID: number; size: number}>};
  /** --userns=auto[:size=N]: how many ids to allocate (under the containers lock, at create). */
  autoUsernsSize?: number;
  cgroupParent?: string;
  /**
   * none, host, bridge (CNI networks, named in `networks`), container (share
   * another container's namespace: `container` is its ID) or ns (a given
   * namespace path), slirp4netns (user-mode networking: its options in `slirp`), pasta (its extra arguments in `pasta`).
   */
  network: {mode: 'none' | 'host' | 'bridge' | 'container' | 'ns' | 'slirp4netns' | 'pasta'; networks?: Record<string, NetworkRequest>; container?: string; path?: string; slirp?: SlirpOptions; pasta?: string[]};
  /** -p/-P; host port 0 is picked at start. Absent in records written before networking. */
  ports?: PortMapping[];
  dns: string[];
  dnsSearch: string[];
  dnsOptions: string[];
  addHosts: string[];
  autoRemove: boolean;
  init: boolean;
  stopSignal: string;
  stopTimeout: number;
  restart: RestartPolicy;
  logDriver: 'k8s-file' | 'journald' | 'none';
  logOpts: Record<string, string>;
  sdnotify: 'conmon' | 'container' | 'ignore';
  pidFile?: string;
  conmonPidFile?: string;
  cidFile?: string;
  /** OCI runtime name or path. */
  runtime: string;
  storageDriver: 'overlay' | 'vfs';
}

export interface ContainerState {
  status: ContainerStatus;
  pid: number;
  conmonPid: number;
  exitCode: number;
  startedAt: string;
  finishedAt: string;
  oomKilled: boolean;
  error: string;
  restartCount: number;
  /** The boot this state was recorded in; a different boot means the runroot is gone and nothing runs. */
  bootId: string;
  /** The rootfs is mounted (at runroot/containers/<id>/rootfs). */
  mounted: boolean;
  /** Set by stop: do not restart (unless-stopped / on-failure policies). */
  stoppedByUser: boolean;
  /** The network namespace skiff made and what CNI gave the container, while it runs (torn down at exit). */
  net?: ContainerNetState;
  /**
   * The skiff process that set a transitional status ("stopping",
   * "removing"). If it dies midway, readers see the status the container
   * really has (running, or exited for an unfinished removal) instead of a
   * status nobody will ever move on.
   */
  busyPid?: number;
  /**
   * The foreground skiff (run, start -a) waiting for this container's exit
   * code. While it lives, conmon's exit command leaves --rm to it, so the
   * record (and exit code) is still there when it asks.
   */
  waiterPid?: number;
}
