/**
 * Hardlink rule: a hardlink may only point at a non-directory written
 * earlier by this same layer, named by a path that stays inside the root and
 * crosses no symlink. link(2) itself never follows the final component, so a
 * link to a symlink copies the symlink, not what it points at.
 */
import * as fs from 'node:fs';
import {entryError} from './entry-error';
import type {LayerState} from './layer-state';
import {cleanComponents, stripAbsolute} from './safe-path';
import {isRealDirChain} from './scoped-resolve';

/** Returns the target's relative path inside the root, or throws why it is refused. */
export function checkHardlinkTarget(state: LayerState, linkpath: string, name: string): string {
  const comps = cleanComponents(stripAbsolute(linkpath));
  if (comps === undefined) throw entryError(name, `hardlink target ${JSON.stringify(linkpath)} escapes the layer root`);
  if (comps.length === 0) throw entryError(name, 'hardlink target is the layer root');
  if (!isRealDirChain(state, comps, comps.length - 1)) {
    throw entryError(name, `hardlink target ${JSON.stringify(linkpath)} is reached through a symlink or a missing directory`);
  }
  const rel = comps.join('/');
  if (!state.written.has(rel)) throw entryError(name, `hardlink target ${JSON.stringify(linkpath)} is not an earlier entry of this layer`);
  const st = fs.lstatSync(state.abs(rel), {throwIfNoEntry: false});
  if (st === undefined) throw entryError(name, `hardlink target ${JSON.stringify(linkpath)} does not exist`);
  if (st.isDirectory()) throw entryError(name, `hardlink target ${JSON.stringify(linkpath)} is a directory`);
  return rel;
}
