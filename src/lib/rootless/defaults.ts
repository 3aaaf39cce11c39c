/**
 * Defaults that differ for a rootless user. The network default is chosen
 * HERE and only here (run/create and `skiff info` read it).
 */
import type {ResourceLimits} from '../container/types';
import {cgroupMode} from '../runtime/host';
import {log} from '../util/log';
import {isRootless} from './userns';

/**
 * Rootless containers cannot create veth pairs on the host bridge. The
 * default for rootless is meant to be slirp4netns (user-mode networking,
 * port publishing); until that network mode exists, `none`.
 */
export const ROOTLESS_DEFAULT_NETWORK = 'none';

export function defaultNetwork(): string {
  return isRootless() ? ROOTLESS_DEFAULT_NETWORK : 'bridge';
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
