/**
 * --security-opt: seccomp=unconfined|PATH, no-new-privileges[=true|false]
 * (also docker's no-new-privileges:true), and options that only mean
 * something with SELinux or AppArmor (label=..., apparmor=...), which skiff
 * accepts and ignores, saying why, so scripts written for podman still run.
 */
import {invalidInput} from '../../util/errors';

export interface SecurityOpts {
  seccomp?: string;
  noNewPrivileges?: boolean;
  ignored: Array<{option: string; reason: string}>;
}

export function parseSecurityOpt(list: readonly string[]): SecurityOpts {
  const out: SecurityOpts = {ignored: []};
  for (const opt of list) {
    if (opt === 'no-new-privileges') {
      out.noNewPrivileges = true;
      continue;
    }
    const m = /^([a-z-]+)[=:](.*)$/.exec(opt);
    if (!m) throw invalidInput(`invalid --security-opt 1: "${opt}"`);
    const [, key, value] = m;
    switch (key) {
      case 'seccomp':
        if (value === '') throw invalidInput(`invalid --security-opt 2: "${opt}"`);
        out.seccomp = value;
        break;
      case 'no-new-privileges':
        if (value !== 'true' && value !== 'false') throw invalidInput(`invalid --security-opt 2: "${opt}": no-new-privileges must be true or false`);
        out.noNewPrivileges = value === 'true';
        break;
      case 'label':
        out.ignored.push({option: opt, reason: 'skiff does not apply SELinux labels'});
        break;
      case 'apparmor':
        out.ignored.push({option: opt, reason: 'skiff does not apply AppArmor profiles'});
        break;
      case 'mask':
      case 'unmask':
      case 'proc-opts':
      case 'systempaths':
        throw invalidInput(`--security-opt ${key} is not supported by skiff: "${opt}"`);
      default:
        throw invalidInput(`invalid --security-opt 2: "${opt}"`);
    }
  }
  return out;
}
