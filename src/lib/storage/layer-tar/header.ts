/**
 * Writing tar headers: ustar, with a PAX 'x' record in front when a field
 * does not fit (long names, big ids or sizes) or xattrs must travel. The
 * output is deterministic for the same input.
 */
export const BLOCK = 512;

export type TarType = 'file' | 'hardlink' | 'symlink' | 'char' | 'block' | 'dir' | 'fifo';

const TYPEFLAG: Record<TarType, string> = {file: '0', hardlink: '1', symlink: '2', char: '3', block: '4', dir: '5', fifo: '6'};

export interface HeaderFields {
  name: string;
  type: TarType;
  mode: number;
  uid?: number;
  gid?: number;
  size?: number;
  /** Seconds since the epoch (whole). */
  mtime?: number;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  uname?: string;
  gname?: string;
  xattrs?: Map<string, Buffer>;
}

function octal(buf: Buffer, off: number, len: number, value: number): boolean {
  const s = Math.max(0, Math.floor(value)).toString(8);
  if (s.length > len - 1) return false;
  buf.write(s.padStart(len - 1, '0'), off, len - 1, 'latin1');
  buf[off + len - 1] = 0;
  return true;
}

function paxRecord(key: string, value: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`, 'utf8'), value, Buffer.from('\n')]);
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len = String(len).length + body.length;
  return Buffer.concat([Buffer.from(String(len), 'latin1'), body]);
}

export function padding(size: number): number {
  const r = size % BLOCK;
  return r === 0 ? 0 : BLOCK - r;
}

function ustar(f: HeaderFields, name: string, linkname: string, size: number, typeflag: string): Buffer {
  const b = Buffer.alloc(BLOCK);
  b.write(name, 0, 100, 'utf8');
  octal(b, 100, 8, f.mode & 0o7777);
  octal(b, 108, 8, f.uid ?? 0);
  octal(b, 116, 8, f.gid ?? 0);
  octal(b, 124, 12, size);
  octal(b, 136, 12, f.mtime ?? 0);
  b.write(typeflag, 156, 1, 'latin1');
  b.write(linkname, 157, 100, 'utf8');
  b.write('ustar\u000000', 257, 8, 'latin1');
  b.write((f.uname ?? '').slice(0, 31), 265, 32, 'utf8');
  b.write((f.gname ?? '').slice(0, 31), 297, 32, 'utf8');
  if (f.type === 'char' || f.type === 'block') {
    octal(b, 329, 8, f.devmajor ?? 0);
    octal(b, 337, 8, f.devminor ?? 0);
  }
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += b[i];
  b.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'latin1');
  return b;
}

/** The header block(s) for one member: an optional PAX record, then the ustar block. */
export function encodeHeader(f: HeaderFields): Buffer {
  const size = f.type === 'file' ? (f.size ?? 0) : 0;
  const linkname = f.linkname ?? '';
  const pax: Buffer[] = [];
  let name = f.name;
  if (Buffer.byteLength(name) > 100) {
    pax.push(paxRecord('path', Buffer.from(name)));
    name = Buffer.from(name).subarray(0, 99).toString('utf8').replace(/\ufffd+$/, '');
  }
  let link = linkname;
  if (Buffer.byteLength(link) > 100) {
    pax.push(paxRecord('linkpath', Buffer.from(link)));
    link = '';
  }
  if (size > 0o77777777777) pax.push(paxRecord('size', Buffer.from(String(size))));
  if ((f.uid ?? 0) > 0o7777777) pax.push(paxRecord('uid', Buffer.from(String(f.uid))));
  if ((f.gid ?? 0) > 0o7777777) pax.push(paxRecord('gid', Buffer.from(String(f.gid))));
  if (f.xattrs) for (const k of [...f.xattrs.keys()].sort()) pax.push(paxRecord(`SCHILY.xattr.${k}`, f.xattrs.get(k)!));
  const main = ustar(f, name, link, size > 0o77777777777 ? 0 : size, TYPEFLAG[f.type]);
  if (pax.length === 0) return main;
  const data = Buffer.concat(pax);
  const xname = ('PaxHeaders.0/' + Buffer.from(f.name.replace(/\/$/, '').split('/').pop() ?? '').subarray(0, 80).toString('utf8')).replace(/\ufffd+$/, '');
  const xh = ustar({name: xname, type: 'file', mode: 0o644, mtime: f.mtime}, xname, '', data.length, 'x');
  return Buffer.concat([xh, data, Buffer.alloc(padding(data.length)), main]);
}

/** Two zero blocks. */
export const END_OF_ARCHIVE = Buffer.alloc(2 * BLOCK);
