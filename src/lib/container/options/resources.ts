/**
 * Memory and CPU flags: --memory, --memory-swap, --memory-reservation
 * (sizes; swap -1 = unlimited; without --memory-swap a limit allows the same
 * again as swap, podman's LimitToSwap), --cpus (a positive fraction of CPUs).
 */
import type {ResourceLimits} from '../types';
import {invalidInput} from '../../util/errors';
import {sizeInBytes} from './size';

/** The kernel refuses smaller memory cgroup limits in practice; docker and podman reject them up front. */
export const MIN_MEMORY = 6 * 1024 * 1024;

export interface MemoryFlags {
  memory?: string;
  memorySwap?: string;
  memoryReservation?: string;
}

function size(v: string): number {
  const n = sizeInBytes(v.trim());
  if (n === undefined) throw invalidInput(`invalid value for memory: invalid size: '${v}'`);
  return n;
}

export function parseMemoryFlags(flags: MemoryFlags): Pick<ResourceLimits, 'memory' | 'memorySwap' | 'memoryReservation'> {
  const out: Pick<ResourceLimits, 'memory' | 'memorySwap' | 'memoryReservation'> = {};
  if (flags.memory !== undefined && flags.memory !== '') {
    out.memory = size(flags.memory);
    if (out.memory > 0 && out.memory < MIN_MEMORY) throw invalidInput(`invalid value for --memory "${flags.memory}": minimum memory limit allowed is 6MB`);
  }
  if (flags.memorySwap !== undefined && flags.memorySwap !== '') {
    if (flags.memorySwap.trim() === '-1') out.memorySwap = -1;
    else {
      out.memorySwap = size(flags.memorySwap);
      if (out.memory === undefined || out.memory === 0) throw invalidInput('you should always set the memory limit when using the memoryswap limit, see usage');
      if (out.memorySwap < out.memory) throw invalidInput('minimum memoryswap limit should be larger than memory limit, see usage');
    }
  } else if (out.memory !== undefined && out.memory > 0) {
    out.memorySwap = 2 * out.memory;
  }
  if (flags.memoryReservation !== undefined && flags.memoryReservation !== '') {
    out.memoryReservation = size(flags.memoryReservation);
    if (out.memory && out.memoryReservation > out.memory) throw invalidInput('minimum memory limit can not be less than memory reservation limit, see usage');
  }
  return out;
}

export function parseCpus(spec: string): number {
  const s = spec.trim();
  if (!/^(\d+(\.\d*)?|\.\d+)$/.test(s)) throw invalidInput(`invalid argument "${spec}" for "--cpus" flag: invalid syntax`);
  const n = Number(s);
  if (n < 0) throw invalidInput(`invalid argument "${spec}" for "--cpus" flag: must be positive`);
  return n;
}
