/**
 * Numeric header fields: NUL/space-terminated octal, or GNU base-256
 * (first byte 0x80 positive, 0xff negative two's complement). Anything a
 * JavaScript number cannot hold exactly, and any stray character, is
 * rejected rather than guessed at.
 */
export function parseNumeric(block: Buffer, off: number, len: number): number {
  const first = block[off];
  if (first & 0x80) return parseBase256(block, off, len);
  let i = off;
  const end = off + len;
  while (i < end && block[i] === 0x20) i++; // leading spaces
  let v = 0;
  let digits = 0;
  for (; i < end; i++) {
    const c = block[i];
    if (c >= 0x30 && c <= 0x37) {
      v = v * 8 + (c - 0x30);
      digits++;
    } else if (c === 0 || c === 0x20) {
      break;
    } else {
      throw new RangeError(`invalid octal digit 0x${c.toString(16)}`);
    }
  }
  for (; i < end; i++) {
    if (block[i] !== 0 && block[i] !== 0x20) throw new RangeError('garbage after octal number');
  }
  if (digits === 0) return 0;
  return v;
}

function parseBase256(block: Buffer, off: number, len: number): number {
  const negative = block[off] === 0xff;
  if (!negative && block[off] !== 0x80) throw new RangeError('invalid base-256 marker');
  let v = 0;
  for (let i = off + 1; i < off + len; i++) {
    const b = negative ? ~block[i] & 0xff : block[i];
    v = v * 256 + b;
    if (v > Number.MAX_SAFE_INTEGER) throw new RangeError('base-256 number too large');
  }
  return negative ? -(v + 1) : v;
}

/** A PAX decimal integer (size, uid, gid): digits only, within the safe range. */
export function parseDecimal(s: string): number {
  if (!/^[0-9]{1,16}$/.test(s)) throw new RangeError(`invalid decimal ${JSON.stringify(s)}`);
  const v = Number(s);
  if (!Number.isSafeInteger(v)) throw new RangeError(`number too large ${s}`);
  return v;
}

/** A PAX time: optional sign, seconds, optional fraction ("1700000000.123456789"). */
export function parseTime(s: string): number {
  if (!/^-?[0-9]{1,15}(\.[0-9]*)?$/.test(s)) throw new RangeError(`invalid time ${JSON.stringify(s)}`);
  return Number(s);
}
