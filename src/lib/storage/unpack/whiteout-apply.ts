/**
 * Whiteouts applied directly to a tree that already holds the lower layers
 * (the vfs driver): `.wh.NAME` deletes NAME, `.wh..wh..opq` deletes the
 * directory's lower contents. Per the image-spec, whiteouts only hide what
 * came from lower layers, never what this layer wrote, in whatever order
 * the entries arrive.
 */
import * as fs from 'node:fs';
import type {LayerState} from './layer-state';

/** parentRel is a real directory inside the root (already resolved). */
export function applyDeleteWhiteout(state: LayerState, parentRel: string, target: string): void {
  const rel = parentRel === '' ? target : parentRel + '/' + target;
  const st = fs.lstatSync(state.abs(rel), {throwIfNoEntry: false});
  if (st === undefined) return;
  if (state.written.has(rel) || state.ancestors?.has(rel)) {
    // This layer wrote it (or into it): only lower content below it may go.
    if (st.isDirectory()) emptyLowerContents(state, rel);
    return;
  }
  state.remove(rel, st);
}

export function applyOpaqueWhiteout(state: LayerState, dirRel: string): void {
  emptyLowerContents(state, dirRel);
}

/** Removes everything under dirRel that this layer did not write. Never follows symlinks. */
function emptyLowerContents(state: LayerState, dirRel: string): void {
  for (const name of fs.readdirSync(state.abs(dirRel))) {
    const rel = dirRel === '' ? name : dirRel + '/' + name;
    const mine = state.written.has(rel);
    const holdsMine = state.ancestors?.has(rel) ?? false;
    const st = fs.lstatSync(state.abs(rel));
    if (st.isDirectory() && (mine || holdsMine)) emptyLowerContents(state, rel);
    else if (!mine) state.remove(rel, st);
  }
}
