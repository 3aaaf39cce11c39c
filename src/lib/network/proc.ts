/** The helper processes of user-mode networks (slirp4netns, pasta): reading /proc and stopping them. */
import * as fs from 'node:fs';
import {processAlive} from '../container/boot';

/** The ids of the running processes, or undefined when /proc cannot be read. */
export function processIds(): number[] | undefined {
  try {
    return fs.readdirSync('/proc').filter((n) => /^\d+$/.test(n)).map(Number);
  } catch {
    return undefined;
  }
}

export function cmdline(pid: number): string[] | undefined {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return undefined;
  }
}

/**
 * Signal, then SIGKILL after a second; returns once it is gone (its
 * listening ports are closed then). `first` SIGKILL for a helper with
 * nothing to flush (slirp4netns takes ~20 ms to act on SIGTERM).
 */
export async function terminateProcess(pid: number, first: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
  const steps: Array<[NodeJS.Signals, number]> = first === 'SIGKILL' ? [['SIGKILL', 2000]] : [['SIGTERM', 1000], ['SIGKILL', 2000]];
  for (const [sig, ms] of steps) {
    try {
      process.kill(pid, sig);
    } catch {
      return;
    }
    for (let waited = 0; waited < ms && processAlive(pid); waited += 2) await new Promise((r) => setTimeout(r, 2));
    if (!processAlive(pid)) return;
  }
}
