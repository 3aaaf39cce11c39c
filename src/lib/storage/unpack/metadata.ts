/**
 * Ownership, xattrs, mode and times, in the only safe order: chown first
 * (it clears setuid/setgid and file capabilities), then xattrs (so
 * security.capability survives), then chmod, then times. Nothing here
 * follows a symlink: fd calls, l* calls, or chmod on paths just verified
 * not to be symlinks.
 */
import * as fs from 'node:fs';
import {errnoCode} from '../../util/errors';
import {lsetxattr} from '../../util/native';
import {log} from '../../util/log';
import type {TarEntry} from './entry';
import {isOverlayPrivateXattr} from './whiteout';

/** Sets the member's xattrs on abs without following a symlink. Unsupported/forbidden ones are skipped with a warning, as docker does. */
export function applyXattrs(abs: string, e: TarEntry): void {
  if (!e.xattrs) return;
  for (const [name, value] of e.xattrs) {
    if (isOverlayPrivateXattr(name)) {
      log.warn(`layer entry ${JSON.stringify(e.path)}: ignoring overlay-private xattr ${name}`);
      continue;
    }
    try {
      lsetxattr(abs, name, value);
    } catch (err) {
      const code = errnoCode(err);
      if (code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'EPERM') throw err;
      log.warn(`layer entry ${JSON.stringify(e.path)}: cannot set xattr ${name}: ${code}`);
    }
  }
}

/** atime: the PAX one when present, else the mtime (docker's choice). */
export function atimeOf(e: TarEntry): number {
  return e.atime ?? e.mtime;
}

/**
 * Regular file still open on fd: everything through the descriptor, then
 * close. The writer may skip chown/chmod when creation already produced
 * exactly the right owner and mode (see LayerWriter.openFile); they are a
 * third of the syscalls of a small file.
 */
export function finishFile(fd: number, abs: string, e: TarEntry, chown: boolean, chmod: boolean): void {
  try {
    if (chown) fs.fchownSync(fd, e.uid, e.gid);
    applyXattrs(abs, e);
    if (chmod) fs.fchmodSync(fd, e.mode);
    fs.futimesSync(fd, atimeOf(e), e.mtime);
  } finally {
    fs.closeSync(fd);
  }
}

/** Directory, device node or fifo at abs (known not to be a symlink); times are left to the caller for directories. */
export function applyNodeMetadata(abs: string, e: TarEntry, setTimes: boolean): void {
  fs.lchownSync(abs, e.uid, e.gid);
  applyXattrs(abs, e);
  fs.chmodSync(abs, e.mode);
  if (setTimes) fs.lutimesSync(abs, atimeOf(e), e.mtime);
}

/** Symlink at abs: no mode to set. */
export function applySymlinkMetadata(abs: string, e: TarEntry): void {
  fs.lchownSync(abs, e.uid, e.gid);
  applyXattrs(abs, e);
  fs.lutimesSync(abs, atimeOf(e), e.mtime);
}
