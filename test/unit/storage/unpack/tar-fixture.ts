/**
 * Test-only tar writer for hand-made (and deliberately malformed) layers.
 * Not a general archiver: it writes exactly the fields a test names, so a
 * test can forge a bad checksum, a base-256 size or a hostile PAX record.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface FixtureEntry {
  name: string;
  /** typeflag character; default '0' (or '5' when name ends with '/'). */
  type?: string;
  data?: Buffer | string;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: number;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  /** PAX 'x' records emitted before this entry. */
  pax?: Record<string, string | Buffer>;
  /** Emit the name (and linkname) through GNU 'L'/'K' records. */
  gnuLong?: boolean;
  /** Raw 12-byte size field (e.g. base-256), overriding the octal one. */
  rawSize?: Buffer;
  /** Store a wrong checksum. */
  badChecksum?: boolean;
  /** Use a POSIX ustar prefix field for the directory part. */
  prefix?: string;
}

function octal(buf: Buffer, off: number, len: number, v: number): void {
  buf.write(v.toString(8).padStart(len - 1, '0') + '\0', off, len, 'latin1');
}

export function header(e: FixtureEntry & {size?: number}): Buffer {
  const h = Buffer.alloc(512);
  const data = e.data === undefined ? Buffer.alloc(0) : Buffer.from(e.data);
  const type = e.type ?? (e.name.endsWith('/') ? '5' : '0');
  h.write(e.name, 0, 100, 'utf8');
  octal(h, 100, 8, e.mode ?? (type === '5' ? 0o755 : 0o644));
  octal(h, 108, 8, e.uid ?? 0);
  octal(h, 116, 8, e.gid ?? 0);
  if (e.rawSize) e.rawSize.copy(h, 124);
  else octal(h, 124, 12, e.size ?? data.length);
  octal(h, 136, 12, e.mtime ?? 1_600_000_000);
  h.write(type, 156, 1, 'latin1');
  h.write(e.linkname ?? '', 157, 100, 'utf8');
  h.write('ustar\0' + '00', 257, 8, 'latin1');
  octal(h, 329, 8, e.devmajor ?? 0);
  octal(h, 337, 8, e.devminor ?? 0);
  if (e.prefix) h.write(e.prefix, 345, 155, 'utf8');
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  if (e.badChecksum) sum += 1;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'latin1');
  return h;
}

function pad(n: number): Buffer {
  return Buffer.alloc((512 - (n % 512)) % 512);
}

export function paxPayload(records: Record<string, string | Buffer>): Buffer {
  const parts: Buffer[] = [];
  for (const [k, v] of Object.entries(records)) {
    const body = Buffer.concat([Buffer.from(` ${k}=`), Buffer.from(v), Buffer.from('\n')]);
    let len = body.length + 1;
    while (String(len).length + body.length !== len) len = String(len).length + body.length;
    parts.push(Buffer.concat([Buffer.from(String(len)), body]));
  }
  return Buffer.concat(parts);
}

/** A meta member ('x', 'g', 'L', 'K') with the given payload. */
export function metaMember(type: string, payload: Buffer, name = 'PaxHeader'): Buffer {
  return Buffer.concat([header({name, type, size: payload.length}), payload, pad(payload.length)]);
}

export function member(e: FixtureEntry): Buffer {
  const parts: Buffer[] = [];
  if (e.pax) parts.push(metaMember('x', paxPayload(e.pax)));
  let name = e.name;
  let linkname = e.linkname;
  if (e.gnuLong) {
    parts.push(metaMember('L', Buffer.from(name + '\0'), '././@LongLink'));
    name = name.slice(0, 99);
    if (linkname !== undefined) {
      parts.push(metaMember('K', Buffer.from(linkname + '\0'), '././@LongLink'));
      linkname = linkname.slice(0, 99);
    }
  }
  const data = e.data === undefined ? Buffer.alloc(0) : Buffer.from(e.data);
  parts.push(header({...e, name, linkname}), data, pad(data.length));
  return Buffer.concat(parts);
}

export const END = Buffer.alloc(1024);

/** A complete archive: the members, then the two zero blocks. */
export function buildTar(entries: Array<FixtureEntry | Buffer>, opts: {end?: boolean} = {}): Buffer {
  const parts = entries.map((e) => (Buffer.isBuffer(e) ? e : member(e)));
  if (opts.end !== false) parts.push(END);
  return Buffer.concat(parts);
}

/**
 * The archive as a stream of `size`-byte chunks (1 exercises every boundary).
 * With UNPACK_TEST_ONE_CHUNK=1 (whole-chunk.test.ts) it is one chunk
 * instead, so every regular file takes the writer's one-call path.
 */
export async function* chunked(buf: Buffer, size = 4096): AsyncGenerator<Buffer> {
  if (process.env.UNPACK_TEST_ONE_CHUNK === '1') size = Math.max(buf.length, 1);
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, Math.min(buf.length, i + size));
}

export interface Sandbox {
  dir: string;
  /** Empty directory to extract into. */
  dest: string;
  /** A directory beside dest holding a file; attacks aim at it. */
  sentinel: string;
  /** Fingerprint of everything outside dest (the sentinel tree and the sandbox's own entries). */
  outside(): string;
  cleanup(): void;
}

export function sandbox(): Sandbox {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-unpack-'));
  const dest = path.join(dir, 'dest');
  const sentinel = path.join(dir, 'sentinel');
  fs.mkdirSync(dest);
  fs.mkdirSync(path.join(sentinel, 'sub'), {recursive: true});
  fs.writeFileSync(path.join(sentinel, 'passwd'), 'root:x:0:0\n');
  fs.writeFileSync(path.join(sentinel, 'sub', 'keep'), 'keep\n');
  const outside = (): string => {
    const lines: string[] = [];
    const walk = (p: string, rel: string): void => {
      const st = fs.lstatSync(p);
      const extra = st.isFile() ? fs.readFileSync(p, 'hex') : st.isSymbolicLink() ? fs.readlinkSync(p) : '';
      lines.push(`${rel} ${st.mode.toString(8)} ${st.uid}:${st.gid} ${st.nlink} ${st.mtimeMs} ${extra}`);
      if (st.isDirectory()) for (const n of fs.readdirSync(p).sort()) if (p !== dir || n !== 'dest') walk(path.join(p, n), `${rel}/${n}`);
    };
    walk(dir, '.');
    return lines.join('\n');
  };
  return {dir, dest, sentinel, outside, cleanup: () => fs.rmSync(dir, {recursive: true, force: true})};
}
