/** --tmpfs DEST[:OPTIONS] (options as for tmpfs(5) and mount(8): size=64m, mode=1777, uid=, gid=, noexec...). */
import type {MountRequest} from '../types';
import {invalidInput} from '../../util/errors';
import {containerDir} from './volume-opts';

const FLAGS = new Set(['rw', 'ro', 'exec', 'noexec', 'dev', 'nodev', 'suid', 'nosuid', 'tmpcopyup', 'notmpcopyup', 'noswap', 'private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave', 'strictatime', 'relatime', 'noatime', 'nr_inodes']);
const KEYED = /^(size|mode|uid|gid|nr_inodes|nr_blocks)=\S+$/;

export function parseTmpfs(spec: string): MountRequest {
  const colon = spec.indexOf(':');
  const destination = containerDir(colon < 0 ? spec : spec.slice(0, colon));
  const options = colon < 0 || spec.slice(colon + 1) === '' ? [] : spec.slice(colon + 1).split(',');
  for (const o of options) {
    if (!FLAGS.has(o) && !KEYED.test(o)) throw invalidInput(`invalid --tmpfs option "${o}" in "${spec}"`);
    if (o.startsWith('mode=') && !/^mode=[0-7]{1,4}$/.test(o)) throw invalidInput(`invalid --tmpfs option "${o}" in "${spec}": mode must be octal`);
  }
  return {type: 'tmpfs', destination, options};
}
