/**
 * --ulimit type=soft[:hard] with go-units ParseUlimit's rules: a known type
 * (an "RLIMIT_" prefix and any case accepted, as podman does), integers,
 * hard defaulting to soft, -1 for "the engine's maximum", soft ≤ hard.
 */
import type {Ulimit} from '../types';
import {invalidInput} from '../../util/errors';

export const ULIMIT_NAMES = ['core', 'cpu', 'data', 'fsize', 'locks', 'memlock', 'msgqueue', 'nice', 'nofile', 'nproc', 'rss', 'rtprio', 'rttime', 'sigpending', 'stack'];

function int(s: string, spec: string): number {
  if (!/^-?\d+$/.test(s)) throw invalidInput(`ulimit option "${spec}" requires name=SOFT:HARD, failed to be parsed: invalid value "${s}"`);
  return Number(s);
}

export function parseUlimit(spec: string): Ulimit {
  const lower = spec.toLowerCase().replace(/^rlimit_/, '');
  const eq = lower.indexOf('=');
  if (eq < 0) throw invalidInput(`ulimit option "${spec}" requires name=SOFT:HARD, failed to be parsed: invalid ulimit argument: ${spec}`);
  const name = lower.slice(0, eq);
  if (!ULIMIT_NAMES.includes(name)) throw invalidInput(`ulimit option "${spec}" requires name=SOFT:HARD, failed to be parsed: invalid ulimit type: ${name}`);
  const vals = lower.slice(eq + 1).split(':');
  if (vals.length > 2) throw invalidInput(`ulimit option "${spec}" requires name=SOFT:HARD, failed to be parsed: too many limit value arguments - ${lower.slice(eq + 1)}, can only have up to two, \`soft[:hard]\``);
  const soft = int(vals[0], spec);
  const hard = vals.length === 2 ? int(vals[1], spec) : soft;
  if (soft < -1 || hard < -1) throw invalidInput(`ulimit option "${spec}": limits must be -1 or non-negative`);
  if (hard !== -1 && (soft === -1 || soft > hard)) {
    throw invalidInput(`ulimit soft limit must be less than or equal to hard limit: ${soft === -1 ? 'soft: -1 (unlimited), hard: ' + hard : `${soft} > ${hard}`}`);
  }
  return {name, soft, hard};
}
