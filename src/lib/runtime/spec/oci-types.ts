/**
 * The parts of the OCI runtime spec (config.json, runtime-spec config.md and
 * config-linux.md) that skiff writes. Field names are the spec's own.
 *
 * Rlimit values may be Infinity for RLIM_INFINITY; serializeSpec() writes
 * that as the uint64 the runtime expects, which JSON.stringify cannot.
 */

export interface OciMount {
  destination: string;
  type: string;
  source: string;
  options?: string[];
}

export interface OciRlimit {
  type: string; // RLIMIT_NOFILE...
  hard: number;
  soft: number;
}

export interface OciCapabilities {
  bounding: string[];
  effective: string[];
  inheritable: string[];
  permitted: string[];
  ambient: string[];
}

export interface OciUser {
  uid: number;
  gid: number;
  umask?: number;
  additionalGids?: number[];
}

export interface OciProcess {
  terminal: boolean;
  user: OciUser;
  args: string[];
  env: string[];
  cwd: string;
  capabilities: OciCapabilities;
  rlimits: OciRlimit[];
  noNewPrivileges: boolean;
  oomScoreAdj?: number;
}

export interface OciDevice {
  path: string;
  type: 'c' | 'b' | 'u' | 'p';
  major: number;
  minor: number;
  fileMode?: number;
  uid?: number;
  gid?: number;
}

export interface OciDeviceRule {
  allow: boolean;
  type?: 'a' | 'c' | 'b';
  major?: number;
  minor?: number;
  access: string;
}

export interface OciResources {
  devices: OciDeviceRule[];
  memory?: {limit?: number; swap?: number; reservation?: number};
  cpu?: {shares?: number; quota?: number; period?: number; cpus?: string; mems?: string};
  pids?: {limit: number};
  blockIO?: {weight?: number};
}

export interface OciSeccompArg {
  index: number;
  value: number;
  valueTwo?: number;
  op: string;
}

export interface OciSeccompSyscall {
  names: string[];
  action: string;
  errnoRet?: number;
  args?: OciSeccompArg[];
}

export interface OciSeccomp {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures?: string[];
  flags?: string[];
  syscalls: OciSeccompSyscall[];
}

export type OciNamespaceType = 'pid' | 'network' | 'ipc' | 'uts' | 'mount' | 'cgroup' | 'user';

export interface OciLinux {
  namespaces: Array<{type: OciNamespaceType; path?: string}>;
  devices: OciDevice[];
  resources?: OciResources;
  cgroupsPath?: string;
  uidMappings?: Array<{containerID: number; hostID: number; size: number}>;
  gidMappings?: Array<{containerID: number; hostID: number; size: number}>;
  sysctl?: Record<string, string>;
  seccomp?: OciSeccomp;
  maskedPaths: string[];
  readonlyPaths: string[];
}

export interface OciSpec {
  ociVersion: string;
  process: OciProcess;
  root: {path: string; readonly: boolean};
  hostname: string;
  mounts: OciMount[];
  linux: OciLinux;
  annotations: Record<string, string>;
}

/** 2^64-1, RLIM_INFINITY as a uint64. */
const RLIM_INFINITY_TEXT = '18446744073709551615';
const INF_MARK = '__skiff_rlim_infinity__';

/** config.json text: Infinity rlimits become RLIM_INFINITY (JSON.stringify would write null). */
export function serializeSpec(spec: OciSpec): string {
  // Only rlimits can hold Infinity: mark those, then one plain stringify.
  // (A replacer function or indentation costs several ms on the seccomp
  // profile's thousands of values, on every container start.)
  const rlimits = spec.process?.rlimits?.map((r) => ({...r, hard: r.hard === Infinity ? INF_MARK : r.hard, soft: r.soft === Infinity ? INF_MARK : r.soft}));
  const text = JSON.stringify(rlimits ? {...spec, process: {...spec.process, rlimits}} : spec);
  return text.split(JSON.stringify(INF_MARK)).join(RLIM_INFINITY_TEXT);
}
