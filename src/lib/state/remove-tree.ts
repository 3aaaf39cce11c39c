/** Removing trees a layer or container may have made hard to remove. */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** rm -rf that also copes with directories made read-only by a layer (mode 0555 dirs). */
export function removeTree(dir: string): void {
  try {
    fs.rmSync(dir, {recursive: true, force: true});
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EACCES' && (err as NodeJS.ErrnoException).code !== 'EPERM') throw err;
    makeWritable(dir);
    fs.rmSync(dir, {recursive: true, force: true});
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
