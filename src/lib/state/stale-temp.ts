/**
 * Leftovers in root/tmp of work a killed process did not finish (a layer
 * being built, a volume being created or removed). Each entry belongs to a
 * resource whose lock its builder held; an entry is stale, and removed, only
 * when that lock is free now.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {tryLockFile} from './lock';
import {removeTree} from './remove-tree';
import {log} from '../util/log';

/** `lockFor(entry)` names the lock file guarding a tmp entry, or undefined for entries that are not its kind. */
export function removeStaleTemp(tmpDir: string, lockFor: (entry: string) => string | undefined): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(tmpDir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const n of names) {
    const lockFile = lockFor(n);
    if (!lockFile) continue;
    const lock = tryLockFile(lockFile, 'exclusive');
    if (!lock) continue;
    try {
      removeTree(path.join(tmpDir, n));
      removed.push(n);
      log.debug(`removed leftover ${n}`);
    } finally {
      lock.release();
    }
  }
  return removed;
}
