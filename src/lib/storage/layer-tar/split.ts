/**
 * tar-split: what is needed, besides the unpacked files, to rebuild a
 * layer's tar byte for byte (as containers/storage keeps it). While a
 * layer unpacks, every byte that is not a stored file's content (headers,
 * PAX and GNU records, padding, the end marker, trailing zeros, and the
 * content of members the extractor does not store) is recorded in order,
 * and each stored file's content is recorded as a reference: its path in
 * the diff and its length.
 *
 * File format (gzip): JSON lines. The first is {"tarsplit":1}; then
 * {"r":"<base64>"} for raw bytes and {"f":"<path in diff>","s":<bytes>}
 * for file content.
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

const RAW_FLUSH = 64 * 1024;
/** Characters of JSON lines handed to the gzip stream at a time. */
const TEXT_FLUSH = 256 * 1024;

/**
 * Wraps the extractor's writer: pass `tap` to the parser and this object
 * as its sink. `contentPath()` tells where the writer put the current
 * member's content (undefined when it did not store it).
 */
export class TarSplitRecorder implements EntrySink {
  /**
   * Lines not yet handed to the compressor. They go to a gzip stream (its
   * work runs on libuv's pool, alongside the extraction) every TEXT_FLUSH
   * characters: compressing the whole recording at the end, synchronously,
   * was ~0.2 s of the JS thread on a 29k-member layer.
   */
  private lines: string[] = ['{"tarsplit":1}'];
  private linesLen = 0;
  private gz: zlib.Gzip | undefined;
  private readonly gzOut: Buffer[] = [];
  private gzError: Error | undefined;
  /** Raw bytes not yet in a line, copied into one reused buffer (not a Buffer per header). */
  private raw = Buffer.allocUnsafe(2 * RAW_FLUSH);
  private rawLen = 0;
  private inline = true;

  /** A whole file at once (see EntrySink.file), offered only when the inner sink takes files so. */
  readonly file: ((e: TarEntry, content: Buffer) => string | undefined) | undefined;

  constructor(
    private readonly inner: EntrySink,
    private readonly contentPath: () => string | undefined,
  ) {
    const innerFile = inner.file;
    if (innerFile === undefined) return;
    this.file = (e, content) => {
      const p = innerFile.call(inner, e, content);
      if (p === undefined) {
        this.tap(content);
      } else if (e.size > 0) {
        this.flush();
        this.line(JSON.stringify({f: p, s: e.size}));
      }
      return p;
    };
  }

  readonly tap = (b: Buffer): void => {
    if (this.rawLen + b.length > this.raw.length) {
      const grown = Buffer.allocUnsafe(Math.max(2 * this.raw.length, this.rawLen + b.length));
      this.raw.copy(grown, 0, 0, this.rawLen);
      this.raw = grown;
    }
    b.copy(this.raw, this.rawLen);
    this.rawLen += b.length;
    if (this.rawLen >= RAW_FLUSH) this.flush();
  };

  entry(e: TarEntry): void {
    this.inner.entry(e);
    const p = this.contentPath();
    this.inline = p === undefined;
    if (p !== undefined && e.size > 0) {
      this.flush();
      this.line(JSON.stringify({f: p, s: e.size}));
    }
  }

  data(chunk: Buffer): void {
    this.inner.data(chunk);
    if (this.inline) this.tap(chunk);
  }

  end(): void {
    this.inner.end();
    this.inline = true;
  }

  private flush(): void {
    if (this.rawLen === 0) return;
    // base64 needs no JSON escaping.
    this.line('{"r":"' + this.raw.toString('base64', 0, this.rawLen) + '"}');
    this.rawLen = 0;
  }

  private line(l: string): void {
    this.lines.push(l);
    this.linesLen += l.length + 1;
    if (this.linesLen >= TEXT_FLUSH) this.ship();
  }

  /** Hands the pending lines to the gzip stream (created on first use). */
  private ship(): void {
    if (this.lines.length === 0) return;
    const text = this.lines.join('\n') + '\n';
    this.lines = [];
    this.linesLen = 0;
    if (this.gz === undefined) {
      const gz = zlib.createGzip({level: 6});
      gz.on('data', (b: Buffer) => this.gzOut.push(b));
      gz.on('error', (err) => {
        this.gzError = err;
      });
      this.gz = gz;
    }
    this.gz.write(text);
  }

  /** Writes the recording (call after the stream ended and verified). */
  async save(file: string): Promise<void> {
    this.flush();
    this.ship();
    const gz = this.gz as zlib.Gzip;
    this.gz = undefined;
    await new Promise<void>((resolve, reject) => {
      if (this.gzError) return reject(this.gzError);
      gz.once('end', resolve);
      gz.once('error', reject);
      gz.end();
    });
    fs.writeFileSync(file, Buffer.concat(this.gzOut), {mode: 0o600});
  }

  /** The extraction failed: drop the compressor. */
  abort(): void {
    this.gz?.destroy();
    this.gz = undefined;
  }
}

type Item = {r: string} | {f: string; s: number};

function readItems(file: string): Item[] {
  let text: string;
  try {
    text = zlib.gunzipSync(fs.readFileSync(file)).toString('utf8');
  } catch (err) {
    throw storageError(`reading ${file}: ${(err as Error).message}`, err);
  }
  const lines = text.split('\n').filter(Boolean);
  if (lines[0] !== '{"tarsplit":1}') throw storageError(`${file}: not a tar-split file of a known version`);
  return lines.slice(1).map((l) => JSON.parse(l) as Item);
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
    if ('r' in it) {
      yield* out(Buffer.from(it.r, 'base64'));
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
