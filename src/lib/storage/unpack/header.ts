/**
 * The 512-byte tar header: ustar, GNU and old v7 layouts. Only decoding and
 * the checksum rule live here; folding in PAX and GNU extensions is the
 * parser's job.
 */
import {parseNumeric} from './numeric';

export const BLOCK = 512;

export interface RawHeader {
  name: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  /** Single character; '\0' for old v7 regular files. */
  typeflag: string;
  linkname: string;
  devmajor: number;
  devminor: number;
}

export function isZeroBlock(block: Buffer, off: number): boolean {
  for (let i = off; i < off + BLOCK; i += 4) {
    if (block.readUInt32LE(i) !== 0) return false;
  }
  return true;
}

/**
 * Header checksum rule: the stored octal sum must equal the sum of all 512
 * bytes with the checksum field counted as spaces. Both the unsigned sum
 * (POSIX) and the signed one (some historic writers) are accepted, as GNU
 * tar and Go's archive/tar do.
 */
export function verifyChecksum(block: Buffer, off: number): boolean {
  let stored: number;
  try {
    stored = parseNumeric(block, off + 148, 8);
  } catch {
    return false;
  }
  // One branch-free pass around the checksum field (8 spaces); the signed
  // sum differs from the unsigned one by 256 per byte >= 0x80.
  let unsigned = 8 * 0x20;
  let high = 0;
  for (let i = off, end = off + 148; i < end; i++) {
    const b = block[i]!;
    unsigned += b;
    high += b >>> 7;
  }
  for (let i = off + 156, end = off + BLOCK; i < end; i++) {
    const b = block[i]!;
    unsigned += b;
    high += b >>> 7;
  }
  return stored === unsigned || stored === unsigned - 256 * high;
}

/** Bytes up to the first NUL, decoded leniently (for error messages). */
export function cString(block: Buffer, off: number, len: number): string {
  return block.toString('utf8', off, nulEnd(block, off, len));
}

/** Bytes up to the first NUL as a file name: must be valid UTF-8 (Node paths are strings). */
export function cName(block: Buffer, off: number, len: number): string {
  return utf8(block, off, nulEnd(block, off, len));
}

const strict = new TextDecoder('utf-8', {fatal: true});

/** UTF-8 decoding that throws instead of silently replacing invalid bytes (which would rename the file). */
export function utf8(buf: Buffer, start: number, end: number): string {
  const s = buf.toString('utf8', start, end);
  if (s.includes('\ufffd')) {
    try {
      strict.decode(buf.subarray(start, end));
    } catch {
      throw new RangeError('name is not valid UTF-8');
    }
  }
  return s;
}

function nulEnd(block: Buffer, off: number, len: number): number {
  let end = off;
  const max = off + len;
  while (end < max && block[end] !== 0) end++;
  return end;
}

/** "ustar\0" + "00": POSIX, whose bytes 345..500 are the name prefix (GNU uses them for times). */
function isPosixUstar(block: Buffer, off: number): boolean {
  return (
    block[off + 257] === 0x75 && // u
    block[off + 258] === 0x73 &&
    block[off + 259] === 0x74 &&
    block[off + 260] === 0x61 &&
    block[off + 261] === 0x72 && // r
    block[off + 262] === 0
  );
}

/** Decodes one header block; throws RangeError naming the bad field. The checksum must already be verified. */
export function decodeHeader(block: Buffer, off: number): RawHeader {
  let name = cName(block, off, 100);
  if (isPosixUstar(block, off) && block[off + 345] !== 0) {
    name = cName(block, off + 345, 155) + '/' + name;
  }
  return {
    name,
    mode: field(block, off + 100, 8, 'mode') & 0o7777,
    uid: field(block, off + 108, 8, 'uid'),
    gid: field(block, off + 116, 8, 'gid'),
    size: field(block, off + 124, 12, 'size'),
    mtime: field(block, off + 136, 12, 'mtime'),
    typeflag: String.fromCharCode(block[off + 156]),
    linkname: cName(block, off + 157, 100),
    devmajor: field(block, off + 329, 8, 'devmajor'),
    devminor: field(block, off + 337, 8, 'devminor'),
  };
}

function field(block: Buffer, off: number, len: number, what: string): number {
  try {
    return parseNumeric(block, off, len);
  } catch (err) {
    throw new RangeError(`invalid ${what} field: ${(err as Error).message}`);
  }
}
