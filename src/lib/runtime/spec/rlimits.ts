/**
 * Process rlimits. podman (libpod/container_internal_common.go) sets
 * RLIMIT_NOFILE and RLIMIT_NPROC to 1048576 (define.RLimitDefaultValue)
 * when the user did not, and -1 means "the engine's own maximum". skiff
 * additionally never asks for more than the engine's hard limit: without
 * CAP_SYS_RESOURCE the runtime's setrlimit would fail, and with it the
 * container would escape the limit its engine runs under. Soft never
 * exceeds hard.
 */
import type {Ulimit} from '../../container/types';
import type {OciRlimit} from './oci-types';

export const DEFAULT_RLIMIT = 1048576;

/** Host limits by lowercase name (nofile, nproc...); Infinity for unlimited. */
export type HostRlimits = Record<string, {soft: number; hard: number}>;

function clamp(u: {name: string; soft: number; hard: number}, host: HostRlimits): OciRlimit {
  const hostHard = host[u.name]?.hard ?? Infinity;
  const want = (v: number) => (v < 0 ? hostHard : v);
  const hard = Math.min(want(u.hard), hostHard);
  const soft = Math.min(want(u.soft), hard);
  return {type: 'RLIMIT_' + u.name.toUpperCase(), hard, soft};
}

export function buildRlimits(ulimits: readonly Ulimit[], host: HostRlimits): OciRlimit[] {
  const byName = new Map<string, Ulimit>();
  for (const u of ulimits) byName.set(u.name, u); // the last flag for a name wins
  for (const name of ['nofile', 'nproc']) {
    if (!byName.has(name)) byName.set(name, {name, soft: DEFAULT_RLIMIT, hard: DEFAULT_RLIMIT});
  }
  return [...byName.values()].map((u) => clamp(u, host));
}
