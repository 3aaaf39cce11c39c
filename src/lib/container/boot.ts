/** This boot's ID: state recorded in another boot is stale (nothing of it runs any more). */
import * as fs from 'node:fs';

let cached: string | undefined;

export function bootId(): string {
  if (cached === undefined) {
    try {
      cached = fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    } catch {
      cached = '';
    }
  }
  return cached;
}

/** Is a process alive (signal 0)? EPERM means alive but not ours. */
export function processAlive(pid: number): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
