/**
 * -v/--volume [SOURCE:]DEST[:OPTIONS] (podman's GenVolumeMounts):
 * - "/ctr" alone is an anonymous volume;
 * - a source starting with "/" or "." is a host path (relative ones resolved
 *   against cwd), anything else a named volume;
 * - options are validated (validateVolumeOpts); z/Z, U, O and nocopy become
 *   fields of the request, the rest stay mount options.
 */
import * as path from 'node:path';
import type {MountRequest} from '../types';
import {invalidInput} from '../../util/errors';
import {checkVolumeName, containerDir, validateVolumeOpts} from './volume-opts';

const FORMAT = 'incorrect volume format, should be [host-dir:]ctr-dir[:option]';

export function parseVolume(spec: string, cwd: string = process.cwd()): MountRequest {
  const parts = spec.split(':');
  if (parts.length > 3) throw invalidInput(`${spec}: ${FORMAT}`);
  if (parts.length === 1) return {type: 'volume', name: '', destination: containerDir(parts[0]), options: [], anonymous: true};
  const [src, dst, opts] = parts;
  if (src === '') throw invalidInput('host directory cannot be empty');
  const destination = containerDir(dst);
  const all = opts === undefined ? [] : validateVolumeOpts(opts.split(','));
  const has = (o: string) => all.includes(o);
  const options = all.filter((o) => !['z', 'Z', 'U', 'O', 'copy', 'nocopy'].includes(o));
  if (src.startsWith('/') || src.startsWith('.')) {
    if (has('O') && options.some((o) => !o.startsWith('upperdir=') && !o.startsWith('workdir='))) throw invalidInput(`can't use 'O' with other options`);
    if (options.some((o) => o.startsWith('upperdir=')) !== options.some((o) => o.startsWith('workdir='))) throw invalidInput('must set both `upperdir` and `workdir`');
    const req: MountRequest = {type: 'bind', source: path.resolve(cwd, src), destination, options};
    if (has('z')) req.relabel = 'z';
    if (has('Z')) req.relabel = 'Z';
    if (has('U')) req.chown = true;
    if (has('O')) req.overlay = true;
    return req;
  }
  if (src.includes('/')) {
    throw invalidInput(`"${src}" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]*" are allowed. If you intended to pass a host directory, use absolute path`);
  }
  checkVolumeName(src);
  if (has('O')) throw invalidInput(`${spec}: the 'O' (overlay) option needs a host directory, not the volume "${src}"`);
  const req: MountRequest = {type: 'volume', name: src, destination, options};
  if (has('nocopy')) req.noCopy = true;
  if (has('U')) req.chown = true;
  return req;
}

/** podman refuses two mounts on one destination: "DEST: duplicate mount destination". */
export function checkDuplicateDestinations(mounts: readonly MountRequest[]): void {
  const seen = new Set<string>();
  for (const m of mounts) {
    if (seen.has(m.destination)) throw invalidInput(`${m.destination}: duplicate mount destination`);
    seen.add(m.destination);
  }
}
