/**
 * --sysctl KEY=VALUE, only for the namespaced sysctls podman allows
 * (pkg/util ValidateSysctls): kernel.msgmax/msgmnb/msgmni/sem/shmall/
 * shmmax/shmmni/shm_rmid_forced and anything under net. or fs.mqueue.
 */
import {invalidInput} from '../../util/errors';

const ALLOWED = new Set(['kernel.msgmax', 'kernel.msgmnb', 'kernel.msgmni', 'kernel.sem', 'kernel.shmall', 'kernel.shmmax', 'kernel.shmmni', 'kernel.shm_rmid_forced']);
const PREFIXES = ['net.', 'fs.mqueue.'];

export function parseSysctl(list: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const val of list) {
    const eq = val.indexOf('=');
    if (eq < 0) throw invalidInput(`${val} is invalid, sysctl values must be in the form of KEY=VALUE`);
    const key = val.slice(0, eq);
    const value = val.slice(eq + 1);
    if (key.trim() !== key || value.trim() !== value) throw invalidInput(`'${val}' is invalid, extra spaces found`);
    if (!ALLOWED.has(key) && !PREFIXES.some((p) => key.startsWith(p))) throw invalidInput(`sysctl '${key}' is not allowed`);
    out[key] = value;
  }
  return out;
}

/**
 * podman refuses, at create, a namespaced sysctl whose namespace the
 * container shares with the host (it would change the host's value).
 */
export function checkSysctlNamespaces(sysctls: Record<string, string>, opts: {hostNetwork: boolean}): void {
  for (const [k, v] of Object.entries(sysctls)) {
    if (opts.hostNetwork && k.startsWith('net.')) throw invalidInput(`sysctl ${k}=${v} can't be set since Network Namespace set to host`);
  }
}
