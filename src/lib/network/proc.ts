/** The helper processes of user-mode networks (slirp4netns, pasta): reading /proc and stopping them. */
import * as fs from 'node:fs';

export function cmdline(pid: number): string[] | undefined {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return undefined;
  }
}

/** Alive and not a zombie (an orphan whose parent never reaps it is not running). */
export function processRunning(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
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
    for (let waited = 0; waited < ms && processRunning(pid); waited += 2) await new Promise((r) => setTimeout(r, 2));
    if (!processRunning(pid)) return;
  }
}
