/**
 * Exec sessions through conmon's exec mode (conmon 2.1 `--exec`): conmon
 * runs `runtime exec --process FILE --detach ID`, so the new process joins
 * the container's namespaces, cgroup, capabilities and seccomp filter, and
 * conmon holds its stdio (a pty with -t), serves an attach socket and a ctl
 * fifo in the session directory, and reports on the sync pipe.
 *
 * Handshake with --exec-attach (pipes named by the environment):
 *
 *   skiff                                   conmon
 *   start pipe  ── 1 byte ──────────────►   daemonizes (the intermediate exits)
 *   attach pipe ◄── {"data": 0} ─────────   attach socket and ctl fifo are ready
 *   connect the attach socket, size the terminal
 *   start pipe  ── closed ──────────────►   the runtime child stops waiting, runs `exec`
 *   sync pipe   ◄── {"data": PID} ───────   or a negative number / EOF: exec failed
 *   ...                                     the process exits, output is drained,
 *   sync pipe   ◄── {"data": STATUS} ────   attach clients are closed first
 *
 * Without --exec-attach (exec -d) the start pipe is closed at once and only
 * the pid is awaited. conmon writes its exit file to <session>/exits/<container
 * id>, never the container's own exit directory.
 */
import {spawn} from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type {Readable, Writable} from 'node:stream';
import {SkiffError} from '../util/errors';
import {log} from '../util/log';
import {cloexecFrom} from '../util/native';
import {openAttach, type AttachSession, type AttachStreams} from './attach';
import {conmonEnv} from './conmon';
import type {OciRuntime} from './oci-runtime';
import {oneLine, readRuntimeLogError, runtimeError} from './monitor/runtime-error';
import {readSyncMessage, SyncReader} from './monitor/sync-pipe';

export interface ExecMonitorOptions {
  conmonPath: string;
  runtime: OciRuntime;
  containerId: string;
  execId: string;
  /** Private directory of this session: process.json, attach, ctl, pidfiles, exits/, oci-log. */
  sessionDir: string;
  /** The OCI process to run (written to <sessionDir>/process.json). */
  process: object;
  terminal: boolean;
  stdin: boolean;
  /** --preserve-fds: skiff's descriptors 3..3+N-1 become the process's 3..3+N-1. */
  preserveFds?: number;
  /** Streams to attach before the process runs; none for a detached session. */
  attach?: AttachStreams;
  /** Called with the session's ctl fifo once conmon serves it, before the process runs. */
  beforeStart?: (ctlPath: string) => void;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

export interface ExecStarted {
  /** Host pid of the exec'd process. */
  pid: number;
  session?: AttachSession;
  /** The process's exit status (128+N for a signal), once conmon reports it; undefined if conmon went away without. */
  exit: Promise<number | undefined>;
  /** Closes skiff's ends of the pipes (a detached session does this at once). */
  release(): void;
}

export function execConmonArgs(o: ExecMonitorOptions): string[] {
  const s = o.sessionDir;
  const a = ['--api-version', '1', '-c', o.containerId, '-u', o.execId, '-r', o.runtime.path, '-b', s, '-p', path.join(s, 'pidfile'), '-P', path.join(s, 'conmon.pid')];
  a.push('-l', 'none', '--exit-dir', path.join(s, 'exits'), '--full-attach', '-e', '--exec-process-spec', path.join(s, 'process.json'));
  if (o.attach) a.push('--exec-attach');
  if (o.preserveFds) a.push(`--runtime-opt=--preserve-fds=${o.preserveFds}`);
  if (o.terminal) a.push('-t');
  else if (o.stdin) a.push('-i');
  for (const r of [...o.runtime.globalArgs(), `--log=${path.join(s, 'oci-log')}`, '--log-format=json']) a.push(`--runtime-arg=${r}`);
  return a;
}

/** Starts the exec session; resolves once the process runs (typed 126/127/125 errors when it cannot). */
export async function startExec(o: ExecMonitorOptions): Promise<ExecStarted> {
  fs.mkdirSync(path.join(o.sessionDir, 'exits'), {recursive: true, mode: 0o700});
  fs.writeFileSync(path.join(o.sessionDir, 'process.json'), JSON.stringify(o.process));
  const args = execConmonArgs(o);
  // Preserved descriptors sit at 3..3+N-1 in conmon too (runc passes them on from there); the pipes follow.
  const n = o.preserveFds ?? 0;
  const env: NodeJS.ProcessEnv = {...conmonEnv(o.env ?? process.env), _OCI_SYNCPIPE: String(3 + n), _OCI_STARTPIPE: String(4 + n)};
  if (o.attach) env._OCI_ATTACHPIPE = String(5 + n);
  log.debug(`${o.conmonPath} ${args.join(' ')}`);
  cloexecFrom(3);
  const stdio: Array<'ignore' | 'pipe' | number> = ['ignore', 'ignore', 'pipe'];
  for (let i = 0; i < n; i++) stdio.push(3 + i);
  stdio.push('pipe', 'pipe');
  if (o.attach) stdio.push('pipe');
  const child = spawn(o.conmonPath, args, {cwd: o.sessionDir, env, stdio});
  const pipes = child.stdio as unknown as Array<Readable | Writable>;
  const stderr = pipes[2] as Readable;
  const syncStream = pipes[3 + n] as Readable;
  const start = pipes[4 + n] as Writable;
  const attachPipe = o.attach ? (pipes[5 + n] as Readable) : undefined;
  let errText = '';
  stderr.on('data', (c: Buffer) => {
    if (errText.length < 8192) errText += c.toString();
  });
  for (const s of [stderr, start, syncStream]) s.on('error', () => {});
  let spawnError: Error | undefined;
  child.once('error', (e) => (spawnError = e));
  const sync = new SyncReader(syncStream);
  const release = () => {
    for (const s of [stderr, syncStream, start, attachPipe]) s?.destroy();
  };

  const timeoutMs = o.timeoutMs ?? 60_000;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  let session: AttachSession | undefined;
  const fail = async (why: string | undefined): Promise<never> => {
    clearTimeout(timer);
    session?.detach();
    release();
    if (spawnError) throw new SkiffError('internal', `cannot run conmon ${o.conmonPath}: ${(spawnError as NodeJS.ErrnoException).code ?? spawnError.message}`);
    const runtimeMsg = readRuntimeLogError(path.join(o.sessionDir, 'oci-log')) ?? (why ? oneLine(why) : undefined);
    if (runtimeMsg) throw runtimeError(o.runtime.name, runtimeMsg);
    throw new SkiffError('internal', `conmon failed to start the exec session: ${oneLine(errText) || 'no report'}`);
  };

  start.write(Buffer.from([0]));
  if (attachPipe) {
    const ready = await Promise.race([readSyncMessage(attachPipe), timedOut]);
    if (ready === 'timeout') return fail('timed out waiting for the attach socket');
    if (!ready || ready.data < 0) return fail(ready?.message);
    try {
      session = openAttach(path.join(o.sessionDir, 'attach'), o.attach!);
    } catch (err) {
      release();
      throw err;
    }
    o.beforeStart?.(path.join(o.sessionDir, 'ctl'));
  }
  start.end();
  const first = await Promise.race([sync.next(), timedOut]);
  if (first === 'timeout') return fail('timed out waiting for the exec process to start');
  if (!first || first.data <= 0) return fail(first?.message);
  clearTimeout(timer);
  log.debug(`exec session ${o.execId} runs pid ${first.data}`);
  const exit = sync.next().then((m) => m?.data);
  return {pid: first.data, session, exit, release};
}
