/**
 * A directory tree (or a single file) → an uncompressed tar stream, as an
 * async generator of Buffers: the consumer pulls, so a slow reader (a pipe,
 * the extractor) holds the walk back instead of buffering the tree in
 * memory (backpressure by construction).
 *
 * What is kept, unlike node-tar's Pack: device nodes, fifos, xattrs
 * (SCHILY.xattr.*, but never overlayfs's own), setuid/setgid/sticky bits,
 * numeric uid/gid, mtimes, symlinks (never followed), hardlinks (detected by
 * dev:inode, archived as links to the first name seen). Names longer than
 * ustar allows, big files and big ids go through PAX headers (header.ts).
 * Sockets are skipped, as GNU tar does. Members come in a stable order
 * (directory, then its children sorted by name), so the same tree gives the
 * same bytes.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {errnoCode} from '../../util/errors';
import {lgetxattr, llistxattr} from '../../util/native';
import {BLOCK, blockPadding, encodeHeader, type PackEntry, type PackType} from './header';

export interface PackSource {
  /** Host path of what to archive; a symlink here is archived as a symlink. */
  abs: string;
  /** Its archive name; '' archives a directory's contents only (no entry for the directory itself). */
  name: string;
}

export interface PackOptions {
  /**
   * Rewrite or drop members as they are walked (commit turns overlay
   * whiteouts into .wh. files here). Returning an array emits several
   * members; `descend: false` on a directory skips its contents.
   */
  map?: (entry: PackEntry, abs: string, st: fs.Stats) => PackEntry[] | PackEntry | undefined;
  /** Archive xattrs (default true). */
  xattrs?: boolean;
  /** Skip members for which this returns true (relative archive name without trailing '/'). */
  exclude?: (name: string, st: fs.Stats) => boolean;
}

/** Output is gathered into chunks of about this size before being handed out. */
const CHUNK = 1 << 20;
/** Files up to this size are read in one synchronous call; larger ones stream in CHUNK reads. */
const SMALL_FILE = 256 << 10;

const {O_RDONLY, O_NOFOLLOW} = fs.constants;

/** glibc's gnu_dev_major/minor. */
export function devMajor(rdev: number): number {
  return ((rdev >>> 8) & 0xfff) | (Math.floor(rdev / 2 ** 32) & ~0xfff);
}

export function devMinor(rdev: number): number {
  return (rdev & 0xff) | ((rdev >>> 12) & 0xfff00);
}

function typeOf(st: fs.Stats): PackType | undefined {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isCharacterDevice()) return 'char';
  if (st.isBlockDevice()) return 'block';
  if (st.isFIFO()) return 'fifo';
  return undefined; // socket
}

/** overlayfs's own attributes (trusted.overlay.*, user.overlay.*) never go into an archive. */
export function isOverlayXattr(name: string): boolean {
  return name.startsWith('trusted.overlay.') || name.startsWith('user.overlay.');
}

export function readXattrs(abs: string): Map<string, Buffer> | undefined {
  let names: string[];
  try {
    names = llistxattr(abs);
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOTSUP' || code === 'EOPNOTSUPP' || code === 'ENOENT') return undefined;
    throw err;
  }
  let out: Map<string, Buffer> | undefined;
  for (const n of names) {
    if (isOverlayXattr(n)) continue;
    const v = lgetxattr(abs, n);
    if (v === undefined) continue;
    (out ??= new Map()).set(n, v);
  }
  return out;
}

/** The member lstat describes, before any rewriting. */
export function entryFromStat(name: string, st: fs.Stats, abs: string, withXattrs: boolean): PackEntry | undefined {
  const type = typeOf(st);
  if (!type) return undefined;
  const e: PackEntry = {
    name,
    type,
    mode: st.mode & 0o7777,
    uid: st.uid,
    gid: st.gid,
    size: type === 'file' ? st.size : 0,
    mtime: Math.floor(st.mtimeMs / 1000),
  };
  if (type === 'symlink') e.linkname = fs.readlinkSync(abs);
  if (type === 'char' || type === 'block') {
    e.devmajor = devMajor(st.rdev);
    e.devminor = devMinor(st.rdev);
  }
  if (withXattrs) {
    const x = readXattrs(abs);
    if (x) e.xattrs = x;
  }
  return e;
}

class Output {
  private parts: Buffer[] = [];
  private bytes = 0;
  push(b: Buffer): void {
    this.parts.push(b);
    this.bytes += b.length;
  }
  get full(): boolean {
    return this.bytes >= CHUNK;
  }
  take(): Buffer | undefined {
    if (this.bytes === 0) return undefined;
    const out = this.parts.length === 1 ? this.parts[0] : Buffer.concat(this.parts, this.bytes);
    this.parts = [];
    this.bytes = 0;
    return out;
  }
}

/**
 * Stream `sources` as one tar archive (with the two zero blocks at the end).
 * A file that shrinks while being read is padded with zeros, one that grows
 * is cut at its archived size, so the archive stays well formed.
 */
export async function* packTree(sources: PackSource[], opts: PackOptions = {}): AsyncGenerator<Buffer> {
  const withXattrs = opts.xattrs !== false;
  const links = new Map<string, string>(); // "dev:ino" -> first archive name
  const out = new Output();

  async function* fileData(abs: string, size: number): AsyncGenerator<Buffer> {
    const fd = fs.openSync(abs, O_RDONLY | O_NOFOLLOW);
    try {
      let done = 0;
      if (size <= SMALL_FILE) {
        const buf = Buffer.allocUnsafe(size + blockPadding(size));
        while (done < size) {
          const n = fs.readSync(fd, buf, done, size - done, done);
          if (n === 0) break;
          done += n;
        }
        buf.fill(0, done);
        out.push(buf);
        return;
      }
      while (done < size) {
        const want = Math.min(CHUNK, size - done);
        const buf = Buffer.allocUnsafe(want);
        let got = 0;
        while (got < want) {
          const n = await new Promise<number>((resolve, reject) => fs.read(fd, buf, got, want - got, done + got, (err, bytes) => (err ? reject(err) : resolve(bytes))));
          if (n === 0) break;
          got += n;
        }
        if (got < want) buf.fill(0, got);
        done += want;
        out.push(buf);
        if (out.full) yield out.take() as Buffer;
      }
      const pad = blockPadding(size);
      if (pad) out.push(Buffer.alloc(pad));
    } finally {
      fs.closeSync(fd);
    }
  }

  async function* emit(e: PackEntry, abs: string | undefined): AsyncGenerator<Buffer> {
    out.push(encodeHeader(e));
    if (e.type === 'file' && e.size > 0 && abs) yield* fileData(abs, e.size);
    if (out.full) yield out.take() as Buffer;
  }

  async function* walk(abs: string, name: string, st: fs.Stats): AsyncGenerator<Buffer> {
    const rel = name.replace(/\/+$/, '');
    if (rel !== '' && opts.exclude?.(rel, st)) return;
    if (rel !== '') {
      let entry = entryFromStat(rel, st, abs, withXattrs);
      if (!entry) return;
      if (entry.type !== 'dir' && st.nlink > 1) {
        const key = `${st.dev}:${st.ino}`;
        const first = links.get(key);
        if (first !== undefined) entry = {...entry, type: 'hardlink', linkname: first, size: 0};
        else links.set(key, rel);
      }
      const mapped = opts.map ? opts.map(entry, abs, st) : entry;
      const list = mapped === undefined ? [] : Array.isArray(mapped) ? mapped : [mapped];
      for (const m of list) yield* emit(m, m.type === 'file' && m.name === entry.name ? abs : undefined);
      if (!st.isDirectory() || list.length === 0) return;
    }
    if (!st.isDirectory()) return;
    let names: string[];
    try {
      names = fs.readdirSync(abs);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return; // removed while walking
      throw err;
    }
    names.sort();
    for (const n of names) {
      const childAbs = path.join(abs, n);
      const cst = fs.lstatSync(childAbs, {throwIfNoEntry: false});
      if (!cst) continue;
      yield* walk(childAbs, rel === '' ? n : `${rel}/${n}`, cst);
    }
  }

  for (const src of sources) {
    const st = fs.lstatSync(src.abs);
    yield* walk(src.abs, src.name, st);
  }
  out.push(Buffer.alloc(2 * BLOCK));
  const last = out.take();
  if (last) yield last;
}
