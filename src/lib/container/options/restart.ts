/** --restart no | on-failure[:N] | always | unless-stopped (podman's wording for errors). */
import type {RestartPolicy} from '../types';
import {invalidInput} from '../../util/errors';

export function parseRestart(spec: string): RestartPolicy {
  const [name, count, ...rest] = spec.split(':');
  if (rest.length > 0) throw invalidInput(`invalid restart policy: may specify retries at most once`);
  switch (name) {
    case '':
    case 'no':
    case 'always':
    case 'unless-stopped':
      if (count !== undefined) throw invalidInput(`restart policy retries can only be specified with on-failure restart policy`);
      return {name: name === '' ? 'no' : name};
    case 'on-failure': {
      if (count === undefined) return {name: 'on-failure', maxRetries: 0};
      if (!/^\d+$/.test(count)) throw invalidInput(`parsing restart policy retry count: invalid syntax: "${count}"`);
      return {name: 'on-failure', maxRetries: Number(count)};
    }
    default:
      throw invalidInput(`invalid restart policy: ${spec}: must be one of no, on-failure[:max-retries], always, unless-stopped`);
  }
}
