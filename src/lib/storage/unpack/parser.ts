/**
 * Streaming tar parser. push() takes chunks of any size and calls the sink
 * synchronously: entry() for each member (after folding in PAX 'x'/'g'
 * records and GNU 'L'/'K' long names), data() with slices of a regular
 * file's content (views into the caller's chunk, valid only during the call),
 * then end(). No per-entry promises or streams: one push per chunk.
 *
 * Like Go's archive/tar (what docker and podman use), a stream that ends on
 * a header boundary is a complete archive; ending anywhere else (inside a
 * header, data, padding or an extension record) is a truncation error. After
 * the end-of-archive marker the rest of the stream is ignored, but the caller
 * should keep feeding it so its digest covers every byte.
 */
import type {EntryType, TarEntry} from './entry';
import {entryError} from './entry-error';
import {BLOCK, cName, utf8, cString, decodeHeader, isZeroBlock, verifyChecksum, type RawHeader} from './header';
import {assertEntrySize, assertMetaRecordSize} from './limits';
import {isGlobalKeyHonoured, parsePaxRecords, xattrFromPax} from './pax';
import {parseDecimal, parseTime} from './numeric';

export interface EntrySink {
  entry(e: TarEntry): void;
  data(chunk: Buffer): void;
  end(): void;
  /**
   * Optional: a whole regular file at once, when its content lies in the
   * chunk being parsed (a view, valid only during the call), instead of
   * entry() + data() + end(). Returns where the content was stored (for
   * tar-split), undefined when it was not.
   */
  file?(e: TarEntry, content: Buffer): string | undefined;
}

/**
 * Sees every byte of the stream that is not a regular file's content
 * (headers, extension records, padding, the end marker and whatever
 * follows it), in stream order, before the entry it belongs to reaches the
 * sink. With the file contents from data() this is the whole stream:
 * tar-split records it so the exact tar can be rebuilt later.
 */
export type RawTap = (bytes: Buffer) => void;

const enum State {
  Header,
  Data,
  /** A small file's content split across chunks, gathered for sink.file(). */
  FileData,
  Meta,
  Padding,
  Done,
}

type MetaKind = 'x' | 'g' | 'L' | 'K';

const TYPES: Record<string, EntryType> = {
  '0': 'file',
  '\0': 'file',
  '7': 'file',
  '1': 'hardlink',
  '2': 'symlink',
  '3': 'char',
  '4': 'block',
  '5': 'dir',
  '6': 'fifo',
};

const TYPE_NAMES: Record<string, string> = {
  S: 'GNU sparse files are not supported',
  D: 'GNU dump directories are not supported',
  M: 'GNU multi-volume continuations are not supported',
  V: 'GNU volume labels are not supported',
  N: 'GNU old long names are not supported',
};

export class TarParser {
  private state = State.Header;
  private readonly hdr = Buffer.alloc(BLOCK);
  private hdrFill = 0;
  private remaining = 0;
  private pad = 0;
  private sawZeroBlock = false;
  private metaKind: MetaKind = 'x';
  private metaName = '';
  private metaBuf = Buffer.alloc(0);
  private metaFill = 0;
  private local: Map<string, Buffer> | undefined;
  private readonly global = new Map<string, Buffer>();
  private longName: string | undefined;
  private gather = Buffer.alloc(0);
  private gatherFill = 0;
  private gatherEntry: TarEntry | undefined;
  private longLink: string | undefined;
  /** Name of the member being read, for error messages. */
  current = '';

  constructor(
    private readonly sink: EntrySink,
    private readonly tap?: RawTap,
  ) {}

  push(chunk: Buffer): void {
    const n = chunk.length;
    let off = 0;
    const tap = this.tap;
    while (off < n) {
      switch (this.state) {
        case State.Header: {
          if (this.hdrFill === 0 && n - off >= BLOCK) {
            const at = off;
            off += BLOCK;
            tap?.(chunk.subarray(at, off));
            off += this.header(chunk, at, chunk, off);
          } else {
            const take = Math.min(BLOCK - this.hdrFill, n - off);
            tap?.(chunk.subarray(off, off + take));
            chunk.copy(this.hdr, this.hdrFill, off, off + take);
            this.hdrFill += take;
            off += take;
            if (this.hdrFill === BLOCK) {
              this.hdrFill = 0;
              off += this.header(this.hdr, 0, chunk, off);
            }
          }
          break;
        }
        case State.Data: {
          const take = Math.min(this.remaining, n - off);
          this.sink.data(chunk.subarray(off, off + take));
          off += take;
          this.remaining -= take;
          if (this.remaining === 0) {
            this.sink.end();
            this.state = this.pad > 0 ? State.Padding : State.Header;
          }
          break;
        }
        case State.FileData: {
          const take = Math.min(this.remaining, n - off);
          chunk.copy(this.gather, this.gatherFill, off, off + take);
          this.gatherFill += take;
          off += take;
          this.remaining -= take;
          if (this.remaining === 0) {
            const e = this.gatherEntry as TarEntry;
            this.gatherEntry = undefined;
            (this.sink.file as NonNullable<EntrySink['file']>).call(this.sink, e, this.gather.subarray(0, this.gatherFill));
            this.state = this.pad > 0 ? State.Padding : State.Header;
          }
          break;
        }
        case State.Meta: {
          const take = Math.min(this.remaining, n - off);
          tap?.(chunk.subarray(off, off + take));
          chunk.copy(this.metaBuf, this.metaFill, off, off + take);
          this.metaFill += take;
          off += take;
          this.remaining -= take;
          if (this.remaining === 0) {
            this.meta();
            this.state = this.pad > 0 ? State.Padding : State.Header;
          }
          break;
        }
        case State.Padding: {
          const take = Math.min(this.pad, n - off);
          tap?.(chunk.subarray(off, off + take));
          off += take;
          this.pad -= take;
          if (this.pad === 0) this.state = State.Header;
          break;
        }
        case State.Done:
          tap?.(off === 0 ? chunk : chunk.subarray(off));
          return;
      }
    }
  }

  /** The source ended: throws when that is in the middle of something. */
  finish(): void {
    if (this.state === State.Done) return;
    const pendingExt = this.local !== undefined || this.longName !== undefined || this.longLink !== undefined;
    if (this.state !== State.Header || this.hdrFill !== 0 || pendingExt) {
      throw entryError(this.current, 'archive is truncated');
    }
  }

  /**
   * One header block at block[off]; chunk[at..] is what follows it in the
   * current chunk. Returns how many of those bytes it consumed (a whole
   * file handed to sink.file(), else 0).
   */
  private header(block: Buffer, off: number, chunk: Buffer, at: number): number {
    if (isZeroBlock(block, off)) {
      if (this.sawZeroBlock) this.state = State.Done;
      this.sawZeroBlock = true;
      return 0;
    }
    // The raw name (decoded leniently) only names the member in these errors.
    if (this.sawZeroBlock) throw entryError(cString(block, off, 100), 'header after an end-of-archive block');
    if (!verifyChecksum(block, off)) throw entryError(cString(block, off, 100), 'header checksum mismatch');
    let h: RawHeader;
    try {
      h = decodeHeader(block, off);
    } catch (err) {
      throw entryError(cString(block, off, 100), (err as Error).message);
    }
    this.current = h.name;
    const t = h.typeflag;
    if (t === 'x' || t === 'g' || t === 'L' || t === 'K') {
      assertEntrySize(h.size, h.name);
      assertMetaRecordSize(h.size, h.name);
      this.metaKind = t;
      this.metaName = h.name;
      this.metaBuf = Buffer.allocUnsafe(h.size);
      this.metaFill = 0;
      this.remaining = h.size;
      this.pad = padding(h.size);
      if (h.size === 0) {
        this.meta();
        this.state = this.pad > 0 ? State.Padding : State.Header;
      } else {
        this.state = State.Meta;
      }
      return 0;
    }
    const e = this.buildEntry(h);
    this.current = e.path;
    const size = e.size;
    if (e.type === 'file' && this.sink.file !== undefined) {
      const have = chunk.length - at;
      if (size <= have) {
        this.sink.file(e, chunk.subarray(at, at + size));
        this.pad = padding(size);
        if (this.pad > 0) this.state = State.Padding;
        return size;
      }
      if (size <= GATHER_MAX) {
        // Split across chunks: copy it together rather than fall back to
        // entry/data/end (with 256 KiB gunzip chunks, many small files are).
        if (this.gather.length < size) this.gather = Buffer.allocUnsafe(Math.max(size, 64 * 1024));
        chunk.copy(this.gather, 0, at, chunk.length);
        this.gatherFill = have;
        this.gatherEntry = e;
        this.remaining = size - have;
        this.pad = padding(size);
        this.state = State.FileData;
        return have;
      }
    }
    this.sink.entry(e);
    if (size > 0) {
      this.remaining = size;
      this.pad = padding(size);
      this.state = State.Data;
    } else {
      this.sink.end();
    }
    return 0;
  }

  private meta(): void {
    const buf = this.metaBuf;
    this.metaBuf = Buffer.alloc(0);
    try {
      switch (this.metaKind) {
        case 'L':
          this.longName = cName(buf, 0, buf.length);
          break;
        case 'K':
          this.longLink = cName(buf, 0, buf.length);
          break;
        case 'x': {
          const recs = parsePaxRecords(buf);
          if (this.local) for (const [k, v] of recs) this.local.set(k, v);
          else this.local = recs;
          break;
        }
        case 'g':
          for (const [k, v] of parsePaxRecords(buf)) {
            if (v.length === 0) this.global.delete(k);
            else this.global.set(k, v);
          }
          break;
      }
    } catch (err) {
      throw entryError(this.metaName, `invalid extended header: ${(err as Error).message}`);
    }
  }

  /** One PAX value for this entry: a local record wins over a global one; an empty local value unsets. */
  private pax(key: string): string | undefined {
    const v = this.local?.get(key) ?? (isGlobalKeyHonoured(key) ? this.global.get(key) : undefined);
    return v === undefined || v.length === 0 ? undefined : utf8(v, 0, v.length);
  }

  private buildEntry(h: RawHeader): TarEntry {
    let path = h.name;
    let linkpath = h.linkname;
    let size = h.size;
    let uid = h.uid;
    let gid = h.gid;
    let mtime = h.mtime;
    let atime: number | undefined;
    let xattrs: Map<string, Buffer> | undefined;
    // Most members have no PAX record and no GNU long name: nothing to fold in.
    const plain = this.local === undefined && this.global.size === 0 && this.longName === undefined && this.longLink === undefined;
    if (!plain) {
      try {
        path = this.pax('path') ?? this.longName ?? h.name;
        linkpath = this.pax('linkpath') ?? this.longLink ?? h.linkname;
        const s = this.pax('size');
        if (s !== undefined) size = parseDecimal(s);
        const u = this.pax('uid');
        if (u !== undefined) uid = parseDecimal(u);
        const g = this.pax('gid');
        if (g !== undefined) gid = parseDecimal(g);
        const m = this.pax('mtime');
        if (m !== undefined) mtime = parseTime(m);
        const a = this.pax('atime');
        if (a !== undefined) atime = parseTime(a);
        xattrs = this.collectXattrs();
      } catch (err) {
        throw entryError(path, `invalid pax record: ${(err as Error).message}`);
      }
    }
    const name = path;
    let type = TYPES[h.typeflag];
    if (type === undefined) {
      throw entryError(name, TYPE_NAMES[h.typeflag] ?? `unsupported entry type ${JSON.stringify(h.typeflag)}`);
    }
    // Old v7 archives mark directories only by a trailing slash.
    if (h.typeflag === '\0' && path.endsWith('/')) type = 'dir';
    if (path === '') throw entryError(name, 'empty name');
    if (path.includes('\0') || linkpath.includes('\0')) throw entryError(name, 'NUL byte in name');
    if (this.hasSparse()) throw entryError(name, 'GNU sparse files are not supported');
    assertEntrySize(size, name);
    if (uid < 0 || gid < 0 || uid > 0xffffffff || gid > 0xffffffff) throw entryError(name, `invalid owner ${uid}:${gid}`);
    this.local = undefined;
    this.longName = undefined;
    this.longLink = undefined;
    return {
      path,
      type,
      linkpath: type === 'symlink' || type === 'hardlink' ? linkpath : '',
      // Like Go's archive/tar: only regular files carry data, whatever the size field says.
      size: type === 'file' ? size : 0,
      mode: h.mode,
      uid,
      gid,
      mtime,
      atime,
      devmajor: h.devmajor,
      devminor: h.devminor,
      xattrs,
    };
  }

  private collectXattrs(): Map<string, Buffer> | undefined {
    let out: Map<string, Buffer> | undefined;
    const add = (k: string, v: Buffer) => {
      const x = xattrFromPax(k, v);
      if (!x) return;
      out ??= new Map();
      out.set(x[0], x[1]); // an empty value is a valid (empty) attribute
    };
    for (const [k, v] of this.global) add(k, v);
    if (this.local) for (const [k, v] of this.local) add(k, v);
    return out;
  }

  private hasSparse(): boolean {
    if (!this.local) return false;
    for (const k of this.local.keys()) if (k.startsWith('GNU.sparse.')) return true;
    return false;
  }
}

/** Largest file content copied together across chunks for sink.file(); bigger ones are streamed. */
const GATHER_MAX = 1 << 20;

function padding(size: number): number {
  const r = size % BLOCK;
  return r === 0 ? 0 : BLOCK - r;
}
