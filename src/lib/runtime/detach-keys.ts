/**
 * --detach-keys: the key sequence that detaches an attached client, in
 * podman's (docker's) spelling: comma-separated keys, each a single
 * character or "ctrl-X" with X one of a-z @ [ \ ] ^ _. The default is
 * "ctrl-p,ctrl-q"; an empty string disables detaching.
 */
import {invalidInput} from '../util/errors';

export const DEFAULT_DETACH_KEYS = 'ctrl-p,ctrl-q';

const CTRL_SPECIAL: Record<string, number> = {'@': 0, '[': 27, '\\': 28, ']': 29, '^': 30, _: 31};

/** The bytes of a detach sequence; empty when detaching is disabled. */
export function parseDetachKeys(spec: string): Uint8Array {
  if (spec === '') return new Uint8Array();
  const out: number[] = [];
  for (const key of spec.split(',')) {
    if (key.length === 1) {
      out.push(key.charCodeAt(0) & 0xff);
      continue;
    }
    const m = /^ctrl-(.)$/i.exec(key);
    if (m) {
      const c = m[1];
      if (/[a-z]/i.test(c)) {
        out.push(c.toLowerCase().charCodeAt(0) - 96);
        continue;
      }
      if (c in CTRL_SPECIAL) {
        out.push(CTRL_SPECIAL[c]);
        continue;
      }
    }
    throw invalidInput(`invalid detach keys "${spec}": unknown character: '${key}'`);
  }
  return Uint8Array.from(out);
}
