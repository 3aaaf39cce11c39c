/**
 * --log-opt KEY=VALUE for the k8s-file driver (podman: path, max-size, tag;
 * docker's max-file is accepted). max-size is a size ("10mb", -1 for none).
 */
import {invalidInput} from '../../util/errors';
import {sizeInBytes} from './size';

const KEYS = new Set(['path', 'max-size', 'max-file', 'tag']);

export function parseLogOpt(list: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const opt of list) {
    const eq = opt.indexOf('=');
    if (eq <= 0) throw invalidInput(`invalid log option "${opt}": expected KEY=VALUE`);
    const key = opt.slice(0, eq);
    const value = opt.slice(eq + 1);
    if (!KEYS.has(key)) throw invalidInput(`invalid log option "${opt}": unknown option ${key}, expected one of path, max-size, max-file, tag`);
    if (key === 'max-size' && value !== '-1' && sizeInBytes(value) === undefined) throw invalidInput(`invalid log option "${opt}": invalid size: '${value}'`);
    if (key === 'max-file' && !/^[1-9]\d*$/.test(value)) throw invalidInput(`invalid log option "${opt}": max-file must be a positive integer`);
    if (key === 'path' && !value.startsWith('/')) throw invalidInput(`invalid log option "${opt}": path must be absolute`);
    out[key] = value;
  }
  return out;
}
