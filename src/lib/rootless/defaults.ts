/**
 * Defaults that differ for a rootless user (run/create and `skiff info` read them).
 */
import type {ResourceLimits} from '../container/types';
import {cgroupMode} from '../runtime/host';
import {log} from '../util/log';
import {isRootless} from './userns';
import {defaultNetworkMode} from '../network/mode';

/** The network a container gets without --network: src/lib/network/mode.ts decides (slirp4netns rootless, as podman). */
export function defaultNetwork(): string {
  return defaultNetworkMode(isRootless());
}

/**
 * Can containers get cgroups? Always as root; rootless needs a delegated
 * cgroup v2 subtree (systemd), which skiff does not manage: never, for now.
 */
export function rootlessCgroups(): boolean {
  return !isRootless();
}

/** Are any resource limits asked for (beyond the defaults)? */
export function hasResourceLimits(r: ResourceLimits): boolean {
  return Object.values(r).some((v) => v !== undefined);
}

/** podman's warning (pkg/specgen) when a rootless container asks for limits it cannot have; the limits are dropped. */
export function warnIgnoredLimits(r: ResourceLimits): void {
  if (rootlessCgroups() || !hasResourceLimits(r)) return;
  const mode = cgroupMode();
  log.warn(mode === 'v2' ? 'Resource limits are not supported and ignored on rootless systems without cgroup delegation' : 'Resource limits are not supported and ignored on cgroups V1 rootless systems');
}
