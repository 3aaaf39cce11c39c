/**
 * Reads a seccomp profile file. "default" means podman's profile as
 * containers-common installs it: /etc/containers/seccomp.json when an admin
 * put one there, else /usr/share/containers/seccomp.json. skiff does not
 * carry its own copy; without the file, a container needs an explicit
 * --security-opt seccomp=PATH or seccomp=unconfined.
 */
import * as fs from 'node:fs';
import {errnoCode, invalidInput, notFound} from '../../util/errors';
import type {SeccompProfile} from './seccomp';

export const SECCOMP_OVERRIDE_PATH = '/etc/containers/seccomp.json';
export const SECCOMP_DEFAULT_PATH = '/usr/share/containers/seccomp.json';

export function loadSeccompProfile(nameOrPath: string, candidates: readonly string[] = [SECCOMP_OVERRIDE_PATH, SECCOMP_DEFAULT_PATH]): SeccompProfile {
  let file = nameOrPath;
  if (nameOrPath === 'default' || nameOrPath === '') {
    const found = candidates.find((p) => fs.existsSync(p));
    if (!found) {
      throw notFound(
        `default seccomp profile not found: expected ${candidates.join(' or ')} (install containers-common, or use --security-opt seccomp=PATH or seccomp=unconfined)`,
      );
    }
    file = found;
  }
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') throw notFound(`opening seccomp profile failed: ${file}: no such file`, err);
    throw invalidInput(`opening seccomp profile failed: ${file}: ${errnoCode(err) ?? String(err)}`, err);
  }
  try {
    const doc = JSON.parse(text) as unknown;
    if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new Error('not a JSON object');
    return doc as SeccompProfile;
  } catch (err) {
    throw invalidInput(`decoding seccomp profile failed: ${file}: ${(err as Error).message.split('\n')[0]}`, err);
  }
}
