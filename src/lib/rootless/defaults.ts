/**
 * Defaults that differ for a rootless user (run/create and `skiff info` read them).
 */
import type {ResourceLimits} from '../container/types';
import {cgroupMode} from '../runtime/host';
import {log} from '../util/log';
import {isRootless} from './userns';
import {defaultNetworkMode} from '../network/mode';
import {applicableLimits, delegation} from './cgroups';

/** The network a container gets without --network: src/lib/network/mode.ts decides (slirp4netns rootless, as podman). */
export function defaultNetwork(): string {
  return defaultNetworkMode(isRootless());
}

/**
 * Can containers get cgroups? Always as root; rootless only inside a
 * delegated cgroup v2 subtree (rootless/cgroups.ts).
 */
export function rootlessCgroups(): boolean {
  return !isRootless() || delegation() !== undefined;
}

/** Are any resource limits asked for (beyond the defaults)? */
export function hasResourceLimits(r: ResourceLimits): boolean {
  return Object.values(r).some((v) => v !== undefined);
}

/**
 * Rootless limits that cannot apply: podman's warning (pkg/specgen) without
 * delegation (all are dropped); with delegation, the limits whose
 * controller the delegated cgroup does not offer (those are dropped).
 */
export function warnIgnoredLimits(r: ResourceLimits): void {
  if (!isRootless() || !hasResourceLimits(r)) return;
  const d = delegation();
  if (d) {
    const {missing} = applicableLimits(r, d.controllers);
    if (missing.length) log.warn(`Resource limits needing the ${missing.join(', ')} controller${missing.length > 1 ? 's' : ''} are ignored: the delegated cgroup ${d.path} does not offer ${missing.length > 1 ? 'them' : 'it'}`);
    return;
  }
  const mode = cgroupMode();
  log.warn(mode === 'v2' ? 'Resource limits are not supported and ignored on rootless systems without cgroup delegation' : 'Resource limits are not supported and ignored on cgroups V1 rootless systems');
}
