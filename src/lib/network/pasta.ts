/**
 * `--network pasta[:OPTIONS]` (podman 4.4+ semantics): pasta (Debian
 * package passt) serves the container's bind-mounted netns, copying the
 * host's addresses and routes into it (--config-net) and forwarding the
 * published ports (-t/-u at start; pasta has no API). OPTIONS are pasta
 * command-line arguments, comma-separated, passed as they are; without a
 * -t/-u/-T/-U of the user's, the ones not published are "none" (podman's
 * rule: nothing is forwarded automatically).
 *
 * Lifecycle: pasta daemonizes once the namespace is configured (so its exit
 * status is the readiness), writes its pid to runroot/pasta/<key>.pid and
 * logs to <key>.log. It also quits by itself when the namespace file goes,
 * but the teardown stops it exactly (SIGTERM, SIGKILL; only a process whose
 * command line names this container's pid file) and removes the files.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {spawn} from 'node:child_process';
import {SkiffError, invalidInput} from '../util/errors';
import {findBinary} from '../runtime/host';
import type {PortMapping} from './types';
import {hostPrimaryIp} from './slirp';
import {cmdline, processIds, terminateProcess} from './proc';
import {processAlive} from '../container/boot';

export interface PastaState {
  pid: number;
  pidFile: string;
  log: string;
}

/** Options skiff sets itself (or that would detach pasta from the container's lifecycle). */
const RESERVED = new Set(['--netns', '--netns-only', '--userns', '-P', '--pid', '-f', '--foreground', '--runas', '-l', '--log-file', '--no-netns-quit', '-F', '--fd', '-h', '--help', '--version']);

/** The part after "pasta:" (comma-separated arguments; "-t,8080" is two). */
export function parsePastaOptions(text: string): string[] {
  const args = text ? text.split(',') : [];
  for (const a of args) {
    const flag = a.includes('=') ? a.slice(0, a.indexOf('=')) : a;
    if (RESERVED.has(flag)) throw invalidInput(`pasta option ${flag} is set by skiff and cannot be given in --network pasta:...`);
    if (a === '') throw invalidInput('invalid --network pasta options: empty argument');
  }
  return args;
}

export function plannedPasta(runroot: string, id: string): PastaState {
  const base = path.join(pastaDir(runroot), id.slice(0, 16));
  return {pid: 0, pidFile: `${base}.pid`, log: `${base}.log`};
}

function given(args: string[], ...flags: string[]): boolean {
  return args.some((a) => flags.includes(a) || flags.some((f) => f.startsWith('--') && a.startsWith(`${f}=`)));
}

export function pastaArgs(st: PastaState, netns: string, user: string[], ports: PortMapping[], root: boolean): string[] {
  const args = ['--config-net', ...(root ? ['--runas', '0:0'] : []), ...user];
  for (const proto of ['tcp', 'udp'] as const) {
    const mine = ports.filter((p) => p.protocol === proto);
    const flag = proto === 'tcp' ? '-t' : '-u';
    for (const p of mine) args.push(flag, `${p.hostIp ? `${p.hostIp}/` : ''}${p.hostPort}:${p.containerPort}`);
    if (!mine.length && !given(user, flag, proto === 'tcp' ? '--tcp-ports' : '--udp-ports')) args.push(flag, 'none');
  }
  if (!given(user, '-T', '--tcp-ns')) args.push('-T', 'none');
  if (!given(user, '-U', '--udp-ns')) args.push('-U', 'none');
  args.push('--pid', st.pidFile, '--log-file', st.log, '--netns', netns);
  return args;
}

function tail(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8').trim().split('\n').filter((l) => !/^pasta .*version/.test(l)).slice(-3).map((l) => l.replace(/^\d+\.\d+: /, '')).join('; ');
  } catch {
    return '';
  }
}

/** Run pasta on the namespace; it returns (daemonized) once the namespace is configured. */
export async function startPasta(st: PastaState, netns: string, user: string[], ports: PortMapping[]): Promise<PastaState> {
  const bin = findBinary('pasta');
  if (!bin) throw invalidInput('pasta not found: install it (Debian package passt) for --network pasta');
  fs.mkdirSync(path.dirname(st.pidFile), {recursive: true, mode: 0o700});
  fs.rmSync(st.pidFile, {force: true});
  const out = fs.openSync(`${st.log}.out`, 'w', 0o600);
  let child;
  try {
    child = spawn(bin, pastaArgs(st, netns, user, ports, process.getuid?.() === 0), {stdio: ['ignore', out, out]});
  } finally {
    fs.closeSync(out);
  }
  const code = await new Promise<number>((resolve, reject) => {
    child.once('error', (err) => reject(new SkiffError('internal', `pasta: ${err.message}`)));
    child.once('exit', (c, sig) => resolve(c ?? (sig ? 128 : 1)));
  });
  const outText = (() => {
    try {
      return fs.readFileSync(`${st.log}.out`, 'utf8');
    } catch {
      return '';
    }
  })();
  fs.rmSync(`${st.log}.out`, {force: true});
  const pid = Number(fs.existsSync(st.pidFile) ? fs.readFileSync(st.pidFile, 'utf8').trim() : 0);
  if (code !== 0 || !pid) {
    const why = tail(st.log) || outText.split('\n').filter((l) => l && !l.startsWith('Failed to send')).slice(-2).join('; ');
    throw invalidInput(`pasta failed to set up the network (exit status ${code}): ${why || 'no output'}`);
  }
  return {...st, pid};
}

/** Stop the container's pasta (only a process naming its pid file) and remove its files. Idempotent. */
export async function stopPasta(st: PastaState): Promise<void> {
  let pid = st.pid;
  if (!pid) {
    try {
      pid = Number(fs.readFileSync(st.pidFile, 'utf8').trim());
    } catch {
      pid = 0;
    }
  }
  if (pid && processAlive(pid)) {
    if (cmdline(pid)?.includes(st.pidFile)) await terminateProcess(pid);
  }
  fs.rmSync(st.pidFile, {force: true});
  fs.rmSync(st.log, {force: true});
}

/** Running pasta processes whose pid file is in `dir` (found by command line, so also one whose pid never reached a record). */
export function pastaProcesses(dir: string): Array<{pid: number; pidFile: string}> {
  const out: Array<{pid: number; pidFile: string}> = [];
  for (const p of processIds() ?? []) {
    const args = cmdline(p);
    if (!args || !/^(pasta|passt)/.test(path.basename(args[0] ?? ''))) continue;
    const i = args.indexOf('--pid');
    const pidFile = i >= 0 ? args[i + 1] : undefined;
    if (pidFile && path.dirname(pidFile) === dir && processAlive(p)) out.push({pid: p, pidFile});
  }
  return out;
}

export function pastaDir(runroot: string): string {
  return path.join(runroot, 'pasta');
}

/** The container's address with pasta: the host's own (pasta copies the template interface's). */
export function pastaAddress(): string | undefined {
  return hostPrimaryIp();
}
