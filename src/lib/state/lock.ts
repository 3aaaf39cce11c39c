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
 * - The lock file of a resource that is gone for good (a removed container,
 *   volume or layer) is deleted by its exclusive holder, before it lets go
 *   (deleteOnRelease). Deleting a flock file races with a waiter that opened
 *   it earlier: the waiter would then lock a file nobody else can find. So
 *   every taker, once flock succeeds, checks that the file it locked is still
 *   the one at the path (same device and inode) and otherwise drops it and
 *   starts again with the file there now. Until session 8 lock files were
 *   never deleted, and a store kept one per container it ever had;
 *   `system check` deletes those (and any other of a resource that is gone).
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

const held = new Map<string, Lock>(); // file -> lock, for this process
const deleting = new Set<string>(); // held files to unlink when released

/** The descriptor locks the file now at `file`: nobody deleted (or deleted and re-created) it since we opened it. */
function isCurrent(fd: number, file: string): boolean {
  const now = fs.statSync(file, {throwIfNoEntry: false});
  if (!now) return false;
  const mine = fs.fstatSync(fd);
  return mine.ino === now.ino && mine.dev === now.dev;
}

function drop(fd: number): void {
  try {
    flock(fd, LOCK.UN);
  } finally {
    fs.closeSync(fd);
  }
}

/** isCurrent for a descriptor just locked; lets go of it when not (or when the check fails). */
function stillCurrent(fd: number, file: string): boolean {
  let current = false;
  try {
    current = isCurrent(fd, file);
  } finally {
    if (!current) drop(fd);
  }
  return current;
}

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
  let released = false;
  let mode = initial;
  const lock: Lock = {
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
      // Unlinked while still held, so no taker can lock it and pass isCurrent after this.
      if (deleting.delete(file) && mode === 'exclusive') removeLockFile(file);
      drop(fd);
    },
  };
  held.set(file, lock);
  return lock;
}

/** Best effort: a lock file left behind costs an inode, and system check deletes it. */
function removeLockFile(file: string): void {
  try {
    fs.unlinkSync(file);
  } catch {
    // gone already, or not ours to delete (a read-only store)
  }
}

/**
 * The resource `file` guards is gone for good (a removed container, volume
 * or layer): unlink the lock file when this process releases its exclusive
 * lock on it, so removed resources leave nothing in locks/. False, and
 * nothing happens, when this process does not hold `file` exclusively (a
 * caller that removes without the lock leaves the file to system check).
 */
export function deleteOnRelease(file: string): boolean {
  if (held.get(file)?.mode !== 'exclusive') return false;
  deleting.add(file);
  return true;
}

/**
 * Take the lock now or return undefined. `create: false` takes only a lock
 * file that exists (undefined when there is none): for sweeping lock files,
 * which must not bring back one a remover just deleted.
 */
export function tryLockFile(file: string, mode: LockMode = 'exclusive', opts: {create?: boolean} = {}): Lock | undefined {
  if (held.has(file)) return undefined;
  const op = (mode === 'shared' ? LOCK.SH : LOCK.EX) | LOCK.NB;
  for (;;) {
    let fd: number;
    if (opts.create === false) {
      try {
        fd = fs.openSync(file, fs.constants.O_RDWR);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw err;
      }
    } else fd = openLockFile(file);
    if (!flock(fd, op)) {
      fs.closeSync(fd);
      return undefined;
    }
    if (stillCurrent(fd, file)) return makeLock(file, fd, mode);
    // its holder deleted it between our open and flock: try the file there now
  }
}

export async function lockFile(file: string, opts: LockOptions = {}): Promise<Lock> {
  const mode = opts.mode ?? 'exclusive';
  if (held.has(file)) throw new SkiffError('internal', `lock ${file} is already held by this process`);
  const op = (mode === 'shared' ? LOCK.SH : LOCK.EX) | LOCK.NB;
  const timeout = opts.timeoutMs ?? 60_000;
  const start = Date.now();
  let delay = 1;
  let warned = false;
  for (;;) {
    const fd = openLockFile(file);
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
    if (stillCurrent(fd, file)) return makeLock(file, fd, mode);
    // the holder we waited for deleted it (its resource is gone): take the file there now
  }
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
