/**
 * The option list of -v and --tmpfs values, checked as containers/common
 * parse.ValidateVolumeOpts does: known options only, at most one of each
 * exclusive family (rw|ro, [no]exec, [no]dev, [no]suid, z|Z|O, U,
 * propagation, [r]bind, [no]copy), upperdir=/workdir= and idmap kept.
 * cached/delegated (macOS-only) are dropped silently, as docker does.
 */
import * as path from 'node:path';
import {invalidInput} from '../../util/errors';

const FAMILIES: Array<[string[], string]> = [
  [['noexec', 'exec'], "can only specify 1 'noexec' or 'exec' option"],
  [['nodev', 'dev'], "can only specify 1 'nodev' or 'dev' option"],
  [['nosuid', 'suid'], "can only specify 1 'nosuid' or 'suid' option"],
  [['rw', 'ro'], "can only specify 1 'rw' or 'ro' option"],
  [['z', 'Z', 'O'], "can only specify 1 'z', 'Z', or 'O' option"],
  [['U'], "can only specify 1 'U' option"],
  [['private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave', 'unbindable', 'runbindable'], "can only specify 1 '[r]shared', '[r]private', '[r]slave' or '[r]unbindable' option"],
  [['bind', 'rbind'], "can only specify 1 '[r]bind' option"],
  [['copy', 'nocopy'], "can only specify 1 'copy' or 'nocopy' option"],
  [['no-dereference'], "can only specify 1 'no-dereference' option"],
];

export function validateVolumeOpts(options: readonly string[]): string[] {
  const counts = new Map<number, number>();
  const out: string[] = [];
  for (const opt of options) {
    if (opt.startsWith('upperdir=') || opt.startsWith('workdir=') || opt.startsWith('idmap')) {
      out.push(opt);
      continue;
    }
    if (opt === 'cached' || opt === 'delegated') continue;
    const fam = FAMILIES.findIndex(([names]) => names.includes(opt));
    if (fam < 0) throw invalidInput(`invalid option type "${opt}"`);
    const n = (counts.get(fam) ?? 0) + 1;
    counts.set(fam, n);
    if (n > 1) throw invalidInput(`invalid options "${options.join(', ')}", ${FAMILIES[fam][1]}`);
    out.push(opt);
  }
  return out;
}

/** ValidateVolumeCtrDir; returns the normalised path. */
export function containerDir(dest: string): string {
  if (dest === '') throw invalidInput('container directory cannot be empty');
  if (!dest.startsWith('/')) throw invalidInput(`invalid container path "${dest}", must be an absolute path`);
  return path.posix.normalize(dest).replace(/(.)\/+$/, '$1');
}

/** libpod's name rule for volumes (define.NameRegex). */
export function checkVolumeName(name: string): void {
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(name)) throw invalidInput(`invalid volume name "${name}": names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*`);
}
