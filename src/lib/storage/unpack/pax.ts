/**
 * PAX extended header records: "<len> <key>=<value>\n", len counting the
 * whole record. Values stay raw bytes here because xattr values are binary;
 * the parser interprets the keys it knows.
 */

/** Parses one 'x' or 'g' payload into key → raw value (later keys win). Throws RangeError when malformed. */
export function parsePaxRecords(buf: Buffer): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let pos = 0;
  while (pos < buf.length) {
    if (buf[pos] === 0) {
      // Some writers pad the payload with NULs; only padding may follow.
      for (let i = pos; i < buf.length; i++) if (buf[i] !== 0) throw new RangeError('garbage after pax records');
      break;
    }
    const sp = buf.indexOf(0x20, pos);
    if (sp < 0 || sp - pos > 8) throw new RangeError('pax record without a length');
    const lenText = buf.toString('latin1', pos, sp);
    if (!/^[0-9]+$/.test(lenText)) throw new RangeError(`invalid pax record length ${JSON.stringify(lenText)}`);
    const len = Number(lenText);
    const end = pos + len;
    if (len <= sp - pos + 1 || end > buf.length || buf[end - 1] !== 0x0a) throw new RangeError('malformed pax record');
    const eq = buf.indexOf(0x3d, sp + 1);
    if (eq < 0 || eq >= end - 1) throw new RangeError('pax record without "="');
    const key = buf.toString('utf8', sp + 1, eq);
    if (key === '') throw new RangeError('pax record with an empty key');
    out.set(key, buf.subarray(eq + 1, end - 1));
    pos = end;
  }
  return out;
}

/** Keys a global ('g') header may set for every following entry. path/linkpath/size make no sense globally and are ignored there. */
export function isGlobalKeyHonoured(key: string): boolean {
  return key !== 'path' && key !== 'linkpath' && key !== 'size';
}

const SCHILY = 'SCHILY.xattr.';
const LIBARCHIVE = 'LIBARCHIVE.xattr.';

/** Extended attributes carried by PAX records (GNU tar/star SCHILY form, libarchive's encoded form). */
export function xattrFromPax(key: string, value: Buffer): [string, Buffer] | undefined {
  if (key.startsWith(SCHILY)) return [key.slice(SCHILY.length), value];
  if (key.startsWith(LIBARCHIVE)) {
    return [decodeURIComponent(key.slice(LIBARCHIVE.length)), Buffer.from(value.toString('latin1'), 'base64')];
  }
  return undefined;
}
