/**
 * linux.resources from the container's limits, with podman's conventions:
 * --cpus is a CFS quota over a 100ms period (pkg/util CoresToPeriodAndQuota),
 * a memory limit without --memory-swap allows as much swap again
 * (pkg/specgenutil LimitToSwap: swap = 2 × memory), and the pids limit
 * defaults to containers.conf's pids_limit, 2048 (DefaultPidsLimit); -1 or 0
 * means unlimited.
 */
import type {ResourceLimits} from '../../container/types';
import type {OciDeviceRule, OciResources} from './oci-types';

export const CPU_PERIOD = 100000;
export const DEFAULT_PIDS_LIMIT = 2048;

export function buildResources(r: ResourceLimits, deviceRules: OciDeviceRule[]): OciResources {
  const out: OciResources = {devices: deviceRules};
  if (r.memory !== undefined || r.memorySwap !== undefined || r.memoryReservation !== undefined) {
    const memory: NonNullable<OciResources['memory']> = {};
    if (r.memory !== undefined && r.memory > 0) memory.limit = r.memory;
    if (r.memorySwap !== undefined) memory.swap = r.memorySwap;
    else if (memory.limit !== undefined) memory.swap = 2 * memory.limit;
    if (r.memoryReservation !== undefined) memory.reservation = r.memoryReservation;
    out.memory = memory;
  }
  const cpu: NonNullable<OciResources['cpu']> = {};
  if (r.cpus !== undefined && r.cpus > 0) {
    cpu.period = CPU_PERIOD;
    cpu.quota = Math.round(r.cpus * CPU_PERIOD);
  } else {
    if (r.cpuQuota !== undefined && r.cpuQuota !== 0) cpu.quota = r.cpuQuota;
    if (r.cpuPeriod !== undefined && r.cpuPeriod > 0) cpu.period = r.cpuPeriod;
  }
  if (r.cpuShares !== undefined && r.cpuShares > 0) cpu.shares = r.cpuShares;
  if (r.cpusetCpus) cpu.cpus = r.cpusetCpus;
  if (r.cpusetMems) cpu.mems = r.cpusetMems;
  if (Object.keys(cpu).length > 0) out.cpu = cpu;
  const pids = r.pidsLimit ?? DEFAULT_PIDS_LIMIT;
  if (pids > 0) out.pids = {limit: pids};
  if (r.blkioWeight !== undefined && r.blkioWeight > 0) out.blockIO = {weight: r.blkioWeight};
  return out;
}
