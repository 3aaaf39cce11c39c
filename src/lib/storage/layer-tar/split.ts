/**
 * tar-split: what is needed, besides the unpacked files, to rebuild a
 * layer's tar byte for byte (as containers/storage keeps it). While a
 * layer unpacks, every byte that is not a stored file's content (headers,
 * PAX and GNU records, padding, the end marker, trailing zeros, and the
 * content of members the extractor does not store) is recorded in order,
 * and each stored file's content is recorded as a reference: its path in
 * the diff and its length.
 *
 * File format (gzip, possibly several members): the line {"tarsplit":2},
 * then binary records (TarSplitRecorder below). Format 1, still read: JSON
 * lines, the first {"tarsplit":1}, then {"r":"<base64>"} for raw bytes and
 * {"f":"<path in diff>","s":<bytes>} for file content.
 *
 * Rebuilding streams the same bytes and hashes them; a stream that does
 * not match the layer's diff ID (someone changed the layer) fails before
 * its end is delivered.
 */
import {createHash} from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import type {TarEntry} from '../unpack/entry';
import type {EntrySink} from '../unpack/parser';
import {digestMismatch, storageError} from '../../util/errors';

export const TAR_SPLIT_FILE = 'tar-split.gz';

/** A layer's tar-split file, beside its diff directory. */
export function tarSplitPathFor(diffDir: string): string {
  return path.join(path.dirname(diffDir), TAR_SPLIT_FILE);
}

/** Bytes of recording per batch handed to the compressor. */
const BATCH = 1 << 20;
/** Record types of format 2. */
const REC_RAW = 0x72; // 'r'
const REC_FILE = 0x66; // 'f'
const HEADER_V1 = '{"tarsplit":1}\n';
const HEADER_V2 = '{"tarsplit":2}\n';

/**
 * Wraps the extractor's writer: pass `tap` to the parser and this object
 * as its sink. `contentPath()` tells where the writer put the current
 * member's content (undefined when it did not store it).
 *
 * Format 2 (written since session 7; format 1, JSON lines, is still read):
 * the line `{"tarsplit":2}` and then binary records, `r` u32le(length)
 * bytes for raw bytes, `f` u32le(length) path-utf8 u32le(size low)
 * u32le(size high) for a stored file's content. The records are written
 * straight into a 1 MiB buffer (no JSON, no base64, no strings but the
 * path) and each full buffer is gzipped on its own (level 1) on libuv's
 * pool while the extraction goes on: the file is a multi-member gzip,
 * which gunzip reads as one stream. Building JSON lines and compressing
 * them at level 6 cost ~0.3 s of CPU on a 29k-member layer, most of it on
 * the JS thread.
 */
export class TarSplitRecorder implements EntrySink {
  private out: Buffer = Buffer.allocUnsafeSlow(BATCH);
  /** Batch buffers the compressor is done with. */
  private readonly spare: Buffer[] = [];
  private pos = 0;
  /** Offset of the open raw record's length field; -1 when none is open. */
  private rawAt = -1;
  /** Compressed batches, in order (filled in as the pool finishes them). */
  private readonly done: Buffer[] = [];
  private readonly pending: Promise<void>[] = [];
  private gzError: Error | undefined;
  private aborted = false;
  private inline = true;

  /** A whole file at once (see EntrySink.file), offered only when the inner sink takes files so. */
  readonly file: ((e: TarEntry, content: Buffer) => string | undefined) | undefined;

  constructor(
    private readonly inner: EntrySink,
    private readonly contentPath: () => string | undefined,
  ) {
    this.pos = this.out.write(HEADER_V2, 0, 'latin1');
    const innerFile = inner.file;
    if (innerFile === undefined) return;
    this.file = (e, content) => {
      const p = innerFile.call(inner, e, content);
      if (p === undefined) {
        this.tap(content);
      } else if (e.size > 0) {
        this.fileRef(p, e.size);
      }
      return p;
    };
  }

  readonly tap = (b: Buffer): void => {
    let off = 0;
    const n = b.length;
    while (off < n) {
      if (this.rawAt < 0) {
        if (this.out.length - this.pos < 16) this.ship();
        this.out[this.pos] = REC_RAW;
        this.rawAt = this.pos + 1;
        this.pos += 5;
      }
      const take = Math.min(n - off, this.out.length - this.pos);
      b.copy(this.out, this.pos, off, off + take);
      this.pos += take;
      off += take;
      if (this.pos === this.out.length) this.ship();
    }
  };

  entry(e: TarEntry): void {
    this.inner.entry(e);
    const p = this.contentPath();
    this.inline = p === undefined;
    if (p !== undefined && e.size > 0) this.fileRef(p, e.size);
  }

  data(chunk: Buffer): void {
    this.inner.data(chunk);
    if (this.inline) this.tap(chunk);
  }

  end(): void {
    this.inner.end();
    this.inline = true;
  }

  private closeRaw(): void {
    if (this.rawAt < 0) return;
    this.out.writeUInt32LE(this.pos - this.rawAt - 4, this.rawAt);
    this.rawAt = -1;
  }

  private fileRef(p: string, size: number): void {
    this.closeRaw();
    // UTF-8 takes at most 3 bytes per UTF-16 unit.
    const need = 13 + 3 * p.length;
    if (this.out.length - this.pos < need) this.ship(need);
    const out = this.out;
    const at = this.pos;
    out[at] = REC_FILE;
    const len = out.write(p, at + 5, 'utf8');
    out.writeUInt32LE(len, at + 1);
    let o = at + 5 + len;
    out.writeUInt32LE(size % 0x100000000, o);
    out.writeUInt32LE(Math.floor(size / 0x100000000), o + 4);
    o += 8;
    this.pos = o;
  }

  /** Hands the buffer to the compressor and starts a new one (of at least `need` bytes). */
  private ship(need = 0): void {
    this.closeRaw();
    if (this.pos > 0) {
      const batch = this.out.subarray(0, this.pos);
      const i = this.done.length;
      this.done.push(EMPTY);
      const whole = this.out;
      this.pending.push(
        new Promise<void>((resolve) => {
          zlib.gzip(batch, {level: 1}, (err, gz) => {
            if (err) this.gzError ??= err;
            else this.done[i] = gz;
            // Compressed: the buffer can take the next batch (fresh memory costs a page fault per 4 KiB).
            if (whole.length === BATCH) this.spare.push(whole);
            resolve();
          });
        }),
      );
    }
    this.out = need <= BATCH ? (this.spare.pop() ?? Buffer.allocUnsafeSlow(BATCH)) : Buffer.allocUnsafeSlow(need);
    this.pos = 0;
  }

  /** Writes the recording (call after the stream ended and verified). */
  async save(file: string): Promise<void> {
    this.ship();
    await Promise.all(this.pending);
    if (this.gzError) throw this.gzError;
    if (this.aborted) return;
    fs.writeFileSync(file, Buffer.concat(this.done), {mode: 0o600});
  }

  /** The extraction failed: nothing is written (batches still compressing finish on their own). */
  abort(): void {
    this.aborted = true;
  }
}

const EMPTY = Buffer.alloc(0);

type Item = Buffer | {f: string; s: number};

function modifiedFormat(file: string, why: string): Error {
  return storageError(`${file}: not a valid tar-split file: ${why}`);
}

function readItems(file: string): Item[] {
  let data: Buffer;
  try {
    data = zlib.gunzipSync(fs.readFileSync(file));
  } catch (err) {
    throw storageError(`reading ${file}: ${(err as Error).message}`, err);
  }
  if (data.toString('latin1', 0, HEADER_V2.length) === HEADER_V2) return readItemsV2(file, data);
  // Format 1 (stores written before session 7): JSON lines.
  const lines = data.toString('utf8').split('\n').filter(Boolean);
  if (lines[0] + '\n' !== HEADER_V1) throw storageError(`${file}: not a tar-split file of a known version`);
  return lines.slice(1).map((l) => {
    const it = JSON.parse(l) as {r: string} | {f: string; s: number};
    return 'r' in it ? Buffer.from(it.r, 'base64') : it;
  });
}

function readItemsV2(file: string, data: Buffer): Item[] {
  const items: Item[] = [];
  let o = HEADER_V2.length;
  while (o < data.length) {
    const type = data[o];
    if (o + 5 > data.length) throw modifiedFormat(file, 'truncated record');
    const len = data.readUInt32LE(o + 1);
    const at = o + 5;
    if (at + len > data.length) throw modifiedFormat(file, 'truncated record');
    if (type === REC_RAW) {
      items.push(data.subarray(at, at + len));
      o = at + len;
    } else if (type === REC_FILE) {
      if (at + len + 8 > data.length) throw modifiedFormat(file, 'truncated record');
      const f = data.toString('utf8', at, at + len);
      const s = data.readUInt32LE(at + len) + data.readUInt32LE(at + len + 4) * 0x100000000;
      items.push({f, s});
      o = at + len + 8;
    } else {
      throw modifiedFormat(file, `unknown record type ${type}`);
    }
  }
  return items;
}

const CHUNK = 1 << 20;

/**
 * The layer tar, rebuilt from `file` and the files under `diffDir`,
 * checked against `diffId` (the last chunk is yielded only after the check).
 * File references are opened without following symlinks anywhere on the
 * path, so a changed layer can never make this read outside its diff.
 */
export async function* tarFromSplit(file: string, diffDir: string, diffId: string): AsyncGenerator<Buffer> {
  const items = readItems(file);
  const hash = createHash('sha256');
  const okDirs = new Set<string>(['']);
  const modified = (why: string) => storageError(`layer ${diffId} was modified after it was stored: ${why}`);
  let pending: Buffer | undefined;
  const out = function* (b: Buffer): Generator<Buffer> {
    hash.update(b);
    if (pending) yield pending;
    pending = b;
  };
  for (const it of items) {
    if (Buffer.isBuffer(it)) {
      if (it.length > 0) yield* out(it);
      continue;
    }
    const parts = it.f.split('/');
    let dir = '';
    for (const p of parts.slice(0, -1)) {
      if (p === '' || p === '.' || p === '..') throw modified(`bad path ${it.f}`);
      dir = dir ? `${dir}/${p}` : p;
      if (okDirs.has(dir)) continue;
      const st = fs.lstatSync(path.join(diffDir, dir), {throwIfNoEntry: false});
      if (!st?.isDirectory()) throw modified(`${dir} is no longer a directory`);
      okDirs.add(dir);
    }
    // Synchronous reads: cheaper per file than promise round trips, and they
    // leave libuv's thread pool to the compressor (push runs gzip there).
    let fd: number;
    try {
      fd = fs.openSync(path.join(diffDir, it.f), fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
    } catch (err) {
      throw modified(`${it.f}: ${(err as Error).message}`);
    }
    try {
      const st = fs.fstatSync(fd);
      if (!st.isFile() || st.size !== it.s) throw modified(`${it.f} changed size`);
      let left = it.s;
      while (left > 0) {
        const buf = Buffer.allocUnsafe(Math.min(CHUNK, left));
        const bytesRead = fs.readSync(fd, buf, 0, buf.length, null);
        if (bytesRead === 0) throw modified(`${it.f} is shorter than recorded`);
        left -= bytesRead;
        yield* out(bytesRead === buf.length ? buf : buf.subarray(0, bytesRead));
      }
    } finally {
      fs.closeSync(fd);
    }
  }
  const actual = 'sha256:' + hash.digest('hex');
  if (actual !== diffId) throw digestMismatch(`layer ${diffId} was modified after it was stored: its tar now hashes to ${actual}`);
  if (pending) yield pending;
}
