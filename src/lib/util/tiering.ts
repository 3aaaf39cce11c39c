/**
 * How far V8 may optimize the JavaScript of this process.
 *
 * The container life-cycle commands (SHORT_COMMANDS in src/commands/index.ts)
 * live for 30-60 ms, yet V8 still sends a few of their functions to
 * TurboFan: the snapshot's functions carry the invocation counts of the
 * build-time warm-up (src/cli/warm.ts), so node:path's normalizeString
 * crosses the tier-up threshold in nearly every process (`--trace-opt`
 * in a parallel round: 54 compilations of it in 60 create/start/rm
 * processes). The optimized code is never used long enough to pay for its
 * compilation, which runs on V8's worker threads and, when 20 commands
 * share 2 cores, takes CPU from the others. 20 parallel create -> start ->
 * rm -f (bench/run-step.sh par-crs, CPU from /proc/stat), four alternating
 * rounds on this 2-core VM: 4.47-5.00 s of CPU and 2.25-2.52 s wall with
 * every tier, 4.19-4.46 s and 2.11-2.25 s with this limit (--max-opt=0
 * measured the same as 1). A single command is the same either way
 * (within noise).
 *
 * The limit is set at run time because a V8 flag on the command line would
 * not match the flags the startup snapshot was built with, and Node would
 * refuse the snapshot. Sparkplug (tier 1) stays: it compiles cheaply and
 * keeps a long loop in a short command (rm -fa of many containers) at
 * baseline speed. Anything that does heavy JavaScript work (a pull
 * decompressing and unpacking layers) lifts the limit first.
 *
 * Changing a flag also changes V8's flag hash, so code caches checked
 * against it (Node's for built-in modules not yet loaded) are rejected for
 * the rest of the process; the short commands load no more than two small
 * built-ins after start-up (process.moduleLoadList), so that costs nothing
 * measurable.
 */
import * as v8 from 'node:v8';

/** V8's default --max-opt: every tier. */
const ALL_TIERS = 999;
/** Ignition and Sparkplug only. */
const BASELINE_ONLY = 1;

let limited = false;
let setFlags: (flags: string) => void = (flags) => v8.setFlagsFromString(flags);

/** For the short container commands: no optimizing compiler from here on. */
export function limitOptimization(): void {
  if (limited) return;
  setFlags(`--max-opt=${BASELINE_ONLY}`);
  limited = true;
}

/** Before heavy JavaScript work (a pull): every tier again. */
export function allowOptimization(): void {
  if (!limited) return;
  setFlags(`--max-opt=${ALL_TIERS}`);
  limited = false;
}

/** Tests: record the flags instead of setting them; returns the previous setter. */
export function setFlagSetter(fn: (flags: string) => void): (flags: string) => void {
  const prev = setFlags;
  setFlags = fn;
  return prev;
}
