/** This boot's ID: state recorded in another boot is stale (nothing of it runs any more). */
import * as fs from 'node:fs';
import {ENV_PAUSE, inUserns} from '../rootless/userns';

let cached: string | undefined;

export function bootId(): string {
  if (cached === undefined) {
    try {
      cached = fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
      // Rootless: mounts and processes live as long as the user namespace's pause process; another one is another "boot".
      const pause = process.env[ENV_PAUSE];
      if (pause && inUserns()) cached += `@${pause}`;
    } catch {
      cached = '';
    }
  }
  return cached;
}

/**
 * The fields of /proc/PID/stat after the command name, for a live process:
 * undefined when it is gone or a zombie (killed, not yet reaped by its
 * parent). "pid (comm) S ...": comm may contain spaces and parentheses, so
 * the fields follow the last ')'. [0] is the state, [19] the start time.
 */
function liveStat(pid: number): string[] | undefined {
  if (!pid) return undefined;
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return rest[0] === 'Z' || rest[0] === 'X' ? undefined : rest;
}

/** Is a process alive? A zombie is not. */
export function processAlive(pid: number): boolean {
  return liveStat(pid) !== undefined;
}

/**
 * A live process's start time (/proc/PID/stat field 22, clock ticks since
 * boot), or undefined: with the pid it tells a process from a later one that
 * reused the pid.
 */
export function processStartTime(pid: number): string | undefined {
  return liveStat(pid)?.[19];
}
