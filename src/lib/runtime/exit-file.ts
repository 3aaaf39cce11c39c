/**
 * conmon's record of how a container ended. When the container's init process
 * exits, conmon writes <exit-dir>/<id> (and <persist-dir>/exit) holding the
 * exit status as decimal text: the process's exit code, 128+N for a death by
 * signal N, -1 when unknown. It writes with g_file_set_contents (temp file,
 * then rename), so a reader never sees a torn file. An OOM kill additionally
 * leaves an empty `oom` file in <persist-dir> and in conmon's working
 * directory (the bundle, as startMonitor runs it).
 *
 * The exit file is written before the exit command runs, so `waitForExit`
 * returning does not mean the cleanup command has finished.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {SkiffError} from '../util/errors';

export function exitFilePath(exitDir: string, id: string): string {
  return path.join(exitDir, id);
}

/** The recorded exit code, or undefined when the container has not exited (no file yet). */
export function readExitFile(exitDir: string, id: string): number | undefined {
  const file = exitFilePath(exitDir, id);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new SkiffError('internal', `reading exit file ${file}: ${(err as Error).message}`, {cause: err});
  }
  const t = text.trim();
  if (!/^-?\d+$/.test(t)) throw new SkiffError('internal', `exit file ${file} holds "${t.slice(0, 40)}", not an exit code`);
  return Number.parseInt(t, 10);
}

/** Whether conmon recorded an OOM kill in `dir` (the persist dir or the bundle). */
export function readOomFile(dir: string): boolean {
  return fs.existsSync(path.join(dir, 'oom'));
}

export interface WaitOptions {
  /** Give up after this long; undefined waits forever. */
  timeoutMs?: number;
  /** Poll interval, the fallback when inotify misses an event or is unavailable (default 200 ms). */
  pollMs?: number;
  signal?: AbortSignal;
}

/**
 * Waits for conmon to write the exit file: an fs.watch on the directory wakes
 * it at once, and a poll covers filesystems without inotify. Resolves with the
 * exit code, or undefined on timeout; rejects with an AbortError when `signal` fires.
 */
export function waitForExit(exitDir: string, id: string, opts: WaitOptions = {}): Promise<number | undefined> {
  const now = readExitFile(exitDir, id);
  if (now !== undefined) return Promise.resolve(now);
  return new Promise((resolve, reject) => {
    let watcher: fs.FSWatcher | undefined;
    let done = false;
    const finish = (err: unknown, code?: number) => {
      if (done) return;
      done = true;
      watcher?.close();
      clearInterval(poll);
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else resolve(code);
    };
    const check = () => {
      try {
        const code = readExitFile(exitDir, id);
        if (code !== undefined) finish(undefined, code);
      } catch (err) {
        finish(err);
      }
    };
    const onAbort = () => finish(opts.signal?.reason ?? Object.assign(new Error('the wait was aborted'), {name: 'AbortError'}));
    try {
      watcher = fs.watch(exitDir, {persistent: true}, (_event, name) => {
        if (name === null || name === id) check();
      });
      watcher.on('error', () => {
        watcher?.close();
        watcher = undefined;
      });
    } catch {
      watcher = undefined; // polling only
    }
    const poll = setInterval(check, opts.pollMs ?? 200);
    const timer = opts.timeoutMs === undefined ? undefined : setTimeout(() => finish(undefined, undefined), opts.timeoutMs);
    if (opts.signal) {
      if (opts.signal.aborted) return onAbort();
      opts.signal.addEventListener('abort', onAbort, {once: true});
    }
    // The file may have appeared between the first read and the watch.
    check();
  });
}
