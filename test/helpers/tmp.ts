/**
 * Temporary directories for tests that make many of them in helpers without
 * a teardown of their own: each is removed when the test process exits.
 * Never for stores with mounts (test/helpers/skiff.ts makeStore does that).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const made: string[] = [];
let hooked = false;

export function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  made.push(dir);
  if (!hooked) {
    hooked = true;
    process.on('exit', () => {
      for (const d of made) fs.rmSync(d, {recursive: true, force: true});
    });
  }
  return dir;
}
