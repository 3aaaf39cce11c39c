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

/** Is a process alive? A zombie (killed, not yet reaped by its parent) is not. */
export function processAlive(pid: number): boolean {
  if (!pid) return false;
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) S ..." — comm may contain spaces and parentheses: the state follows the last ')'.
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}
