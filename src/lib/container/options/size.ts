/**
 * Sizes as docker and podman read them (go-units RAMInBytes): a number,
 * optionally fractional, and an optional case-insensitive binary unit b, k,
 * m, g, t, p with an optional trailing "b" or "ib" ("512m", "1.5g",
 * "64KiB"). Plain numbers are bytes.
 */
import {invalidInput} from '../../util/errors';

const UNITS: Record<string, number> = {k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5};

/** Bytes, or undefined when spec is not a size. */
export function sizeInBytes(spec: string): number | undefined {
  const m = /^(\d+(?:\.\d*)?|\.\d+) ?([a-zA-Z]{0,3})$/.exec(spec);
  if (!m) return undefined;
  const num = Number(m[1]);
  const sfx = m[2].toLowerCase();
  if (sfx === '' || sfx === 'b') return Math.floor(num);
  const mul = UNITS[sfx[0]];
  if (mul === undefined) return undefined;
  if (sfx.length === 2 && sfx[1] !== 'b') return undefined;
  if (sfx.length === 3 && sfx.slice(1) !== 'ib') return undefined;
  return Math.floor(num * mul);
}

/** Parses a size; `flag` names the option in the error ("--shm-size"). */
export function parseSize(spec: string, flag = 'size'): number {
  const v = sizeInBytes(spec.trim());
  if (v === undefined || !Number.isSafeInteger(v)) throw invalidInput(`invalid value for ${flag}: invalid size: '${spec}'`);
  return v;
}
