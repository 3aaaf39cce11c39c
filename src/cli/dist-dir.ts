/**
 * What both entries (main.ts, lite.ts) set from the directory they run
 * from (dist/): where the native addon and the vendor bundles are, and how
 * conmon's exit command re-runs skiff.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {setAddonDir} from '../lib/util/native';
import {setVendorDir} from '../lib/util/vendor';
import {setSelfCommand} from '../lib/util/self';

export function useDistDir(dir: string): void {
  setAddonDir(dir);
  setVendorDir(dir);
  setSelfCommand(selfFromDist(dir));
}

/**
 * How conmon's exit command re-runs skiff: through a launcher when there is
 * one (dist/skiff-launch, else bin/skiff beside dist/: they start from the snapshot when that is
 * valid, ~100 ms of CPU less per container exit than the plain bundle, which
 * matters when many containers exit at once), else node with the bundle.
 */
function selfFromDist(dir: string): string[] {
  // dist/skiff-launch (native/launcher.c) first: the same choices without a shell start.
  for (const launcher of [path.join(dir, 'skiff-launch'), path.join(dir, '..', 'bin', 'skiff')]) {
    try {
      fs.accessSync(launcher, fs.constants.X_OK);
      return [path.resolve(launcher)];
    } catch {
      // next
    }
  }
  return [process.execPath, path.join(dir, 'skiff.js')];
}
