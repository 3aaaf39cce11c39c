/**
 * Whiteouts for an overlayfs lowerdir, as containers/storage writes them:
 * `.wh.NAME` becomes a 0/0 character device NAME with mode 0, owned by the
 * whiteout entry's uid/gid; `.wh..wh..opq` becomes trusted.overlay.opaque=y
 * on its directory (user.overlay.opaque in a user namespace: rootless).
 */
import {constants} from 'node:fs';
import * as fs from 'node:fs';
import {errnoCode} from '../../util/errors';
import {lsetxattr, mknod} from '../../util/native';
import type {TarEntry} from './entry';
import type {LayerState} from './layer-state';
import {OVERLAY_OPAQUE_XATTR, OVERLAY_USER_OPAQUE_XATTR} from './whiteout';
import {inUserns} from '../../rootless/userns';

/** parentRel is a real directory inside the root (already resolved). */
export function writeOverlayWhiteout(state: LayerState, parentRel: string, target: string, e: TarEntry): void {
  const rel = parentRel === '' ? target : parentRel + '/' + target;
  const abs = state.abs(rel);
  try {
    // mknod never follows a symlink at the final component: it fails with EEXIST.
    mknod(abs, constants.S_IFCHR, 0, 0);
  } catch (err) {
    // Something of this layer already has the name; whiteouts never hide same-layer entries (image-spec).
    if (errnoCode(err) === 'EEXIST') return;
    throw err;
  }
  fs.lchownSync(abs, e.uid, e.gid);
  state.markWritten(rel);
}

export function writeOverlayOpaque(state: LayerState, dirRel: string): void {
  // In a user namespace (rootless) overlay is mounted with userxattr and reads user.overlay.opaque.
  lsetxattr(state.abs(dirRel), inUserns() ? OVERLAY_USER_OPAQUE_XATTR : OVERLAY_OPAQUE_XATTR, Buffer.from('y'));
}
