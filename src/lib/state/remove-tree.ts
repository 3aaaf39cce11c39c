/**
 * Removing files and trees of skiff's own state. Not fs.rmSync: Node 20's is
 * a JavaScript walk that costs ~2.5 ms to load on first use (every removal
 * path of `run --rm` and `rm` paid it) and follows a mount left inside a
 * tree; the addon's walk does neither (src/lib/util/native.ts removeTreeNative).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {removeTreeNative} from '../util/native';

/** rm -rf p (file or tree); a missing path is fine. */
export function removeAll(p: string): void {
  removeTreeNative(p);
}

/** rm -f p: a file (not a directory); a missing one is fine. */
export function removeFile(p: string): void {
  try {
    fs.unlinkSync(p);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

/** rm -rf that also copes with directories made read-only by a layer (mode 0555 dirs). */
export function removeTree(dir: string): void {
  try {
    removeAll(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EACCES' && (err as NodeJS.ErrnoException).code !== 'EPERM') throw err;
    makeWritable(dir);
    removeAll(dir);
  }
}

function makeWritable(dir: string): void {
  try {
    fs.chmodSync(dir, 0o700);
    for (const e of fs.readdirSync(dir, {withFileTypes: true})) if (e.isDirectory()) makeWritable(path.join(dir, e.name));
  } catch {
    /* best effort */
  }
}
