/**
 * File locks: the only way skiff processes coordinate.
 *
 * Contract
 * - One lock file per resource under root/locks/: `images` (the store-wide
 *   image index and names), `containers` (container names), `container-<id>`,
 *   `layer-<chain-id>`, `volume-<name>`, `network-<name>`, `events` (the
 *   event log's appends).
 * - Order: layer-<chain> → images → containers → container-<id> → volume-<name> → network-* → events.
 *   `events` is last: a service appends an event while it may hold any
 *   other lock, and nothing is ever taken while holding `events`.
 *   Take them in that order only; never wait for a lock of an earlier rank
 *   while holding a later one. (A pull pins its layers, then records the
 *   image under `images`; removal holds `images` and only *tries* layer
 *   locks, never waits for them, so it cannot deadlock with a pull.)
 * - Critical sections are short and decide from disk: re-read state after the
 *   lock is taken. The one long hold is `layer-<chain>` in exclusive mode, held
 *   by the single process that is downloading and unpacking that layer; anyone
 *   else needing the same layer waits and then finds it complete. Shared mode
 *   on a layer lock pins the layer (a pull between unpack and image record);
 *   removal takes it exclusively without waiting and skips the layer if busy.
 * - Implementation: flock(2) on an open file. The kernel drops the lock the
 *   moment the holder dies, including kill -9, so a dead process never blocks
 *   anyone (proper-lockfile's mkdir+mtime model would block others until its
 *   staleness window, >= 2 s, passes, and keeps timers running in the holder).
 *   Waiting never blocks the event loop: LOCK_NB with short backoff sleeps.
 * - Not re-entrant: taking a lock this process already holds is a bug and
 *   fails at once instead of deadlocking.
 * - Lock files are never deleted (deleting a flock file races with waiters).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {flock, LOCK} from '../util/native';
import {SkiffError} from '../util/errors';
import type {Paths} from './paths';

export type LockMode = 'shared' | 'exclusive';

export interface LockOptions {
  mode?: LockMode;
  /** Give up after this long (ms). Default 60 s; Infinity waits forever. */
  timeoutMs?: number;
  /** Called once if the lock is not free at once (for "waiting for ..." messages). */
  onWait?: () => void;
}

export interface Lock {
  readonly file: string;
  readonly mode: LockMode;
  /** Exclusive → shared, without letting go (other readers may then join). */
  downgrade(): void;
  release(): void;
}

const held = new Map<string, number>(); // file -> fd, for this process

function openLockFile(file: string): number {
  try {
    return fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    fs.mkdirSync(path.dirname(file), {recursive: true, mode: 0o700});
    return fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o600);
  }
}

function makeLock(file: string, fd: number, initial: LockMode): Lock {
  held.set(file, fd);
  let released = false;
  let mode = initial;
  return {
    file,
    get mode() {
      return mode;
    },
    downgrade() {
      if (released || mode === 'shared') return;
      flock(fd, LOCK.SH);
      mode = 'shared';
    },
    release() {
      if (released) return;
      released = true;
      held.delete(file);
      try {
        flock(fd, LOCK.UN);
      } finally {
        fs.closeSync(fd);
      }
    },
  };
}

/** Take the lock now or return undefined. */
export function tryLockFile(file: string, mode: LockMode = 'exclusive'): Lock | undefined {
  if (held.has(file)) return undefined;
  const fd = openLockFile(file);
  const op = (mode === 'shared' ? LOCK.SH : LOCK.EX) | LOCK.NB;
  if (flock(fd, op)) return makeLock(file, fd, mode);
  fs.closeSync(fd);
  return undefined;
}

export async function lockFile(file: string, opts: LockOptions = {}): Promise<Lock> {
  const mode = opts.mode ?? 'exclusive';
  if (held.has(file)) throw new SkiffError('internal', `lock ${file} is already held by this process`);
  const fd = openLockFile(file);
  const op = (mode === 'shared' ? LOCK.SH : LOCK.EX) | LOCK.NB;
  const timeout = opts.timeoutMs ?? 60_000;
  const start = Date.now();
  let delay = 1;
  let warned = false;
  try {
    while (!flock(fd, op)) {
      if (!warned) {
        warned = true;
        opts.onWait?.();
      }
      if (Date.now() - start > timeout) {
        throw new SkiffError('lock-timeout', `timed out after ${Math.round(timeout / 1000)}s waiting for lock ${file}`);
      }
      await new Promise((r) => setTimeout(r, delay));
      delay = nextDelay(delay, Date.now() - start);
    }
  } catch (err) {
    fs.closeSync(fd);
    throw err;
  }
  return makeLock(file, fd, mode);
}

/**
 * How long a waiter sleeps before trying again. Store locks are held for a
 * few milliseconds (a create's name check, an event append, one container's
 * teardown), so a waiter polls every 1-4 ms at first: a longer sleep is idle
 * time after the holder let go (the old cap was 25 ms), and parallel `run`s
 * and `create`s queue on the same few locks. Long waits (a pull, a removal of many layers) back off to 25 and then 100
 * ms, so a waiter costs next to no CPU.
 */
export function nextDelay(delay: number, waitedMs: number): number {
  if (waitedMs < 250) return Math.min(delay * 2, 4);
  return waitedMs < 2000 ? 25 : 100;
}

/** Run fn with the named store lock held; always released, even on throw. */
export async function withLock<T>(paths: Paths, name: string, fn: () => Promise<T> | T, opts?: LockOptions): Promise<T> {
  const lock = await lockFile(paths.lockFile(name), opts);
  try {
    return await fn();
  } finally {
    lock.release();
  }
}
