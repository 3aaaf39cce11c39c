/**
 * Encoding one archive member's headers: a ustar header, preceded by a PAX
 * extended header ('x') when a field does not fit ustar (long names and
 * link targets, sizes of 8 GiB and more, big uids/gids, out-of-range
 * mtimes) or the member carries xattrs (SCHILY.xattr.*, as GNU tar and
 * containers/storage write them). Pure: bytes in, bytes out.
 */
export const BLOCK = 512;

export type PackType = 'file' | 'hardlink' | 'symlink' | 'char' | 'block' | 'dir' | 'fifo';

export interface PackEntry {
  /** Archive name, relative, '/'-separated; a directory's trailing '/' is added here. */
  name: string;
  type: PackType;
  /** Permission bits including setuid/setgid/sticky. */
  mode: number;
  uid: number;
  gid: number;
  /** Data bytes that follow (regular files only). */
  size: number;
  /** Seconds since the epoch (integer; sub-second precision is dropped, as docker does). */
  mtime: number;
  /** Symlink target, or the archive name a hardlink points to. */
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  xattrs?: Map<string, Buffer>;
}

const TYPEFLAG: Record<PackType, string> = {file: '0', hardlink: '1', symlink: '2', char: '3', block: '4', dir: '5', fifo: '6'};

/** Largest value an octal field of `width` bytes holds (width-1 digits and a NUL). */
function octalMax(width: number): number {
  return 8 ** (width - 1) - 1;
}

function writeOctal(buf: Buffer, off: number, width: number, value: number): void {
  const s = Math.trunc(value).toString(8).padStart(width - 1, '0');
  buf.write(s, off, width - 1, 'latin1');
  buf[off + width - 1] = 0;
}

function fits(value: number, width: number): boolean {
  return Number.isInteger(value) && value >= 0 && value <= octalMax(width);
}

/** Split a name into ustar's prefix (155) and name (100) fields, or undefined when it cannot be. */
export function splitUstarName(name: string): {prefix: string; name: string} | undefined {
  const bytes = Buffer.byteLength(name);
  if (bytes <= 100) return {prefix: '', name};
  if (bytes > 256) return undefined;
  // The split must fall on a '/': prefix ≤ 155 bytes, rest 1..100 bytes.
  for (let i = name.indexOf('/'); i >= 0; i = name.indexOf('/', i + 1)) {
    const prefix = name.slice(0, i);
    const rest = name.slice(i + 1);
    if (Buffer.byteLength(prefix) > 155) return undefined;
    if (rest.length > 0 && Buffer.byteLength(rest) <= 100) return {prefix, name: rest};
  }
  return undefined;
}

/** One PAX record, "<len> key=value\n", where len counts the whole record including its own digits. */
export function paxRecord(key: string, value: Buffer | string): Buffer {
  const v = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  const k = Buffer.from(key, 'utf8');
  const base = k.length + v.length + 3; // ' ', '=', '\n'
  const digits = String(base).length;
  let len = base + digits;
  if (String(len).length > digits) len = base + digits + 1;
  return Buffer.concat([Buffer.from(`${len} `, 'latin1'), k, Buffer.from('=', 'latin1'), v, Buffer.from('\n', 'latin1')]);
}

/** Truncate to at most `max` bytes without splitting a UTF-8 sequence. */
function truncateUtf8(s: string, max: number): string {
  const b = Buffer.from(s, 'utf8');
  if (b.length <= max) return s;
  let end = max;
  while (end > 0 && (b[end] & 0xc0) === 0x80) end--;
  return b.subarray(0, end).toString('utf8');
}

function ustarBlock(f: {name: string; prefix: string; mode: number; uid: number; gid: number; size: number; mtime: number; typeflag: string; linkname: string; devmajor: number; devminor: number}): Buffer {
  const b = Buffer.alloc(BLOCK);
  b.write(f.name, 0, 100, 'utf8');
  writeOctal(b, 100, 8, f.mode);
  writeOctal(b, 108, 8, f.uid);
  writeOctal(b, 116, 8, f.gid);
  writeOctal(b, 124, 12, f.size);
  writeOctal(b, 136, 12, f.mtime);
  b.fill(0x20, 148, 156);
  b.write(f.typeflag, 156, 1, 'latin1');
  b.write(f.linkname, 157, 100, 'utf8');
  b.write('ustar\0', 257, 6, 'latin1');
  b.write('00', 263, 2, 'latin1');
  writeOctal(b, 329, 8, f.devmajor);
  writeOctal(b, 337, 8, f.devminor);
  b.write(f.prefix, 345, 155, 'utf8');
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += b[i];
  b.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'latin1');
  return b;
}

function padding(n: number): number {
  return (BLOCK - (n % BLOCK)) % BLOCK;
}

/** The header block(s) for one member: [PAX header + its records, padded] + ustar header. */
export function encodeHeader(e: PackEntry): Buffer {
  const name = e.type === 'dir' && !e.name.endsWith('/') ? e.name + '/' : e.name;
  const linkname = e.linkname ?? '';
  const size = e.type === 'file' ? e.size : 0;
  const pax: Buffer[] = [];
  let split = splitUstarName(name);
  if (!split) {
    pax.push(paxRecord('path', name));
    split = {prefix: '', name: truncateUtf8(name, 100)};
  }
  let link = linkname;
  if (Buffer.byteLength(linkname) > 100) {
    pax.push(paxRecord('linkpath', linkname));
    link = truncateUtf8(linkname, 100);
  }
  const num = (key: string, v: number, width: number): number => {
    if (fits(v, width)) return v;
    pax.push(paxRecord(key, String(v)));
    return 0;
  };
  const hdrSize = num('size', size, 12);
  const uid = num('uid', e.uid, 8);
  const gid = num('gid', e.gid, 8);
  const mtime = num('mtime', Math.trunc(e.mtime), 12);
  if (e.xattrs) {
    for (const [k, v] of [...e.xattrs].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) pax.push(paxRecord(`SCHILY.xattr.${k}`, v));
  }
  const main = ustarBlock({
    name: split.name,
    prefix: split.prefix,
    mode: e.mode & 0o7777,
    uid,
    gid,
    size: hdrSize,
    mtime,
    typeflag: TYPEFLAG[e.type],
    linkname: link,
    devmajor: e.devmajor ?? 0,
    devminor: e.devminor ?? 0,
  });
  if (pax.length === 0) return main;
  const payload = Buffer.concat(pax);
  const base = name.replace(/\/+$/, '').split('/').pop() || 'root';
  const xhdr = ustarBlock({
    name: truncateUtf8(`PaxHeaders.0/${base}`, 100),
    prefix: '',
    mode: 0o644,
    uid: 0,
    gid: 0,
    size: payload.length,
    mtime: fits(Math.trunc(e.mtime), 12) ? Math.trunc(e.mtime) : 0,
    typeflag: 'x',
    linkname: '',
    devmajor: 0,
    devminor: 0,
  });
  return Buffer.concat([xhdr, payload, Buffer.alloc(padding(payload.length)), main]);
}

export {padding as blockPadding};
