/**
 * A fresh layer tar from an unpacked overlay diff, for layers that have no
 * tar-split (stored before skiff recorded one). Deterministic: names in
 * byte order, whole-second mtimes, no atime/ctime, owner names empty.
 * Overlay whiteouts (0/0 char devices, trusted.overlay.opaque) become
 * `.wh.` entries again; files with several links in the layer become one
 * file and hardlinks to it. The bytes differ from the tar the layer came
 * from, so its diff ID (and the config and image ID that name it) change.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {lgetxattr, llistxattr} from '../../util/native';
import {OVERLAY_OPAQUE_XATTR, OVERLAY_USER_OPAQUE_XATTR} from '../unpack/whiteout';
import {encodeHeader, END_OF_ARCHIVE, padding, type HeaderFields} from './header';

const CHUNK = 1 << 20;

function xattrsOf(abs: string): Map<string, Buffer> | undefined {
  let out: Map<string, Buffer> | undefined;
  for (const k of llistxattr(abs)) {
    if (k.startsWith('trusted.overlay.')) continue;
    const v = lgetxattr(abs, k);
    if (v === undefined) continue;
    out ??= new Map();
    out.set(k, v);
  }
  return out;
}

function devNumbers(rdev: number): {devmajor: number; devminor: number} {
  const major = Math.floor(rdev / 256) & 0xfff;
  const minor = (rdev & 0xff) | (Math.floor(rdev / 4096) & 0xfff00);
  return {devmajor: major, devminor: minor};
}

function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

export async function* tarFromDiff(diffDir: string): AsyncGenerator<Buffer> {
  const links = new Map<string, string>();
  async function* walk(rel: string): AsyncGenerator<Buffer> {
    const abs = rel ? path.join(diffDir, rel) : diffDir;
    const names = fs.readdirSync(abs).sort(byteOrder);
    for (const n of names) {
      const r = rel ? `${rel}/${n}` : n;
      const a = path.join(diffDir, r);
      const st = fs.lstatSync(a);
      const base: HeaderFields = {name: r, type: 'file', mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: Math.floor(st.mtimeMs / 1000)};
      if (st.isCharacterDevice() && st.rdev === 0) {
        yield encodeHeader({...base, name: rel ? `${rel}/.wh.${n}` : `.wh.${n}`, mode: 0, size: 0});
        continue;
      }
      const xattrs = xattrsOf(a);
      if (st.isDirectory()) {
        yield encodeHeader({...base, name: `${r}/`, type: 'dir', xattrs});
        if (lgetxattr(a, OVERLAY_OPAQUE_XATTR)?.toString() === 'y' || lgetxattr(a, OVERLAY_USER_OPAQUE_XATTR)?.toString() === 'y') {
          yield encodeHeader({...base, name: `${r}/.wh..wh..opq`, type: 'file', mode: 0, size: 0});
        }
        yield* walk(r);
      } else if (st.isFile()) {
        const key = `${st.dev}:${st.ino}`;
        const first = st.nlink > 1 ? links.get(key) : undefined;
        if (first !== undefined) {
          yield encodeHeader({...base, type: 'hardlink', linkname: first, xattrs});
          continue;
        }
        if (st.nlink > 1) links.set(key, r);
        yield encodeHeader({...base, size: st.size, xattrs});
        const fd = fs.openSync(a, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
        try {
          let left = st.size;
          while (left > 0) {
            const buf = Buffer.allocUnsafe(Math.min(CHUNK, left));
            const got = fs.readSync(fd, buf, 0, buf.length, null);
            if (got === 0) throw new Error(`${r} shrank while it was read`);
            left -= got;
            yield got === buf.length ? buf : buf.subarray(0, got);
          }
        } finally {
          fs.closeSync(fd);
        }
        const pad = padding(st.size);
        if (pad) yield Buffer.alloc(pad);
      } else if (st.isSymbolicLink()) {
        yield encodeHeader({...base, type: 'symlink', linkname: fs.readlinkSync(a), xattrs});
      } else if (st.isFIFO()) {
        yield encodeHeader({...base, type: 'fifo', xattrs});
      } else if (st.isCharacterDevice() || st.isBlockDevice()) {
        yield encodeHeader({...base, type: st.isCharacterDevice() ? 'char' : 'block', ...devNumbers(st.rdev), xattrs});
      }
      // sockets are not archived (as tar does)
    }
  }
  yield* walk('');
  yield END_OF_ARCHIVE;
}
