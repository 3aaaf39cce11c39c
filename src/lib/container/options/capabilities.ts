/**
 * --cap-add / --cap-drop names normalised as containers/common
 * NormalizeCapabilities does ("net_admin", "cap_net_admin", "NET_ADMIN" →
 * "CAP_NET_ADMIN"; "all" → "ALL"), with MergeCapabilities' conflicts
 * reported up front.
 */
import {canonicalCapability} from '../../runtime/spec/capabilities';
import {invalidInput} from '../../util/errors';

function normalize(list: readonly string[], flag: string): string[] {
  const out: string[] = [];
  for (const c of list) {
    const n = canonicalCapability(c);
    if (!n) throw invalidInput(`invalid value "${c}" for ${flag}: "${('CAP_' + c.toUpperCase().replace(/^CAP_/, ''))}": unknown capability`);
    if (!out.includes(n)) out.push(n);
  }
  return out;
}

export function normalizeCapabilities(add: readonly string[], drop: readonly string[]): {add: string[]; drop: string[]} {
  const a = normalize(add, '--cap-add');
  const d = normalize(drop, '--cap-drop');
  if (a.includes('ALL') && d.includes('ALL')) throw invalidInput('adding all caps and removing all caps not allowed');
  if (!a.includes('ALL') && !d.includes('ALL')) {
    const both = a.find((c) => d.includes(c));
    if (both) throw invalidInput(`capability "${both}" cannot be dropped and added`);
  }
  return {add: a, drop: d};
}
