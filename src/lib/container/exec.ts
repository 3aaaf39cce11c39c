/**
 * `exec`: the OCI process of an exec session, derived from the container's
 * own config.json process (same rlimits, no-new-privileges, umask, env),
 * with the command, terminal, extra env, working directory, user and
 * capabilities of the request. A -u user is resolved against the running
 * container's /etc/passwd and /etc/group exactly as create does (user.ts).
 */
import type {OciProcess} from '../runtime/spec/oci-types';
import {capabilitySets} from '../runtime/spec/capabilities';
import {hostCapabilities} from '../runtime/spec/host';
import {resolveUser, type RootfsReader} from './user';
import type {ContainerConfig} from './types';

export interface ExecRequest {
  command: string[];
  /** -t */
  tty: boolean;
  /** -i */
  interactive: boolean;
  /** -e/--env-file, resolved to NAME=value. */
  env: string[];
  /** -u; the container's user when undefined. */
  user?: string;
  /** -w; the container's working directory when undefined. */
  workdir?: string;
  /** --privileged: every capability. */
  privileged: boolean;
  /** -d: no attach; the process runs on after exec returns. */
  detach: boolean;
  /** --preserve-fds N: pass skiff's descriptors 3..3+N-1 on. */
  preserveFds?: number;
}

function setEnv(env: string[], name: string, value: string, overwrite = true): string[] {
  const i = env.findIndex((e) => e.startsWith(`${name}=`));
  if (i >= 0 && !overwrite) return env;
  const out = env.filter((e) => !e.startsWith(`${name}=`));
  out.push(`${name}=${value}`);
  return out;
}

export function execProcess(base: OciProcess, config: ContainerConfig, req: ExecRequest, read: RootfsReader): OciProcess {
  const p: OciProcess = structuredClone(base);
  p.args = [...req.command];
  p.terminal = req.tty;
  if (req.workdir) p.cwd = req.workdir;
  let env = [...p.env];
  if (req.tty) env = setEnv(env, 'TERM', 'xterm', false);
  let uid = p.user.uid;
  if (req.user !== undefined && req.user !== '') {
    const u = resolveUser(req.user, [], read);
    uid = u.uid;
    p.user = {uid: u.uid, gid: u.gid, ...(p.user.umask !== undefined ? {umask: p.user.umask} : {}), ...(u.additionalGids.length ? {additionalGids: u.additionalGids} : {})};
    env = setEnv(env, 'HOME', u.home || '/');
  }
  for (const e of req.env) {
    const i = e.indexOf('=');
    if (i > 0) env = setEnv(env, e.slice(0, i), e.slice(i + 1));
  }
  p.env = env;
  if (uid !== base.user.uid || req.privileged) {
    p.capabilities = capabilitySets({add: config.capAdd, drop: config.capDrop, privileged: config.privileged || req.privileged, uid, hostBounding: hostCapabilities()});
  }
  return p;
}
