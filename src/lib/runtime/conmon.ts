/**
 * The monitor driver: fork-execs conmon, which runs `runtime create` for the
 * container and then stays, as the container's only resident companion: it
 * holds the container's stdio, writes the log, serves the attach socket and
 * the ctl fifo, writes the exit file and runs the exit command.
 *
 * Process model (conmon 2.1, see its src/conmon.c):
 *
 *   skiff ── vfork/exec ─► conmon (intermediate) ── fork ─► conmon (daemon, setsid) ── fork/exec ─► runc create
 *                            │ writes -P pidfile, _exit(0)        │ writes {"data": PID} on the sync pipe
 *
 * skiff waits for one sync-pipe message, reaps the intermediate, then closes
 * its ends of both pipes: it never waits on the daemon, and the daemon holds
 * no descriptor of skiff's except the pipes handed to it (all other
 * descriptors are marked close-on-exec just before the spawn). The spawn is
 * the addon's (spawnMonitor), not child_process's: no fork of Node's page
 * tables, no stream per pipe (~2 ms of each start). No start pipe: conmon waits on
 * one only to be moved into a cgroup first, which skiff does not do.
 *
 * The container is created, not started: the caller attaches (attach.ts) and
 * then runs OciRuntime.start, so no output is lost.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import {SkiffError} from '../util/errors';
import {log} from '../util/log';
import {cloexecFrom, spawnMonitor, waitChild, type MonitorChild} from '../util/native';
import type {OciRuntime} from './oci-runtime';
import {exitFilePath} from './exit-file';
import {oneLine, readRuntimeLogError, runtimeError} from './monitor/runtime-error';
import {readSyncMessage, type SyncMessage} from './monitor/sync-pipe';

export type LogConfig = {driver: 'k8s-file'; path: string} | {driver: 'journald'} | {driver: 'none'};

export interface MonitorOptions {
  /** conmon binary, absolute. */
  conmonPath: string;
  /** The runtime conmon runs (`create`); its globalArgs() are passed on. */
  runtime: OciRuntime;
  id: string;
  name: string;
  /**
   * OCI bundle directory (config.json, rootfs). conmon's cwd, so the `oom` file conmon
   * writes to its cwd on an OOM kill lands here too; the attach socket and ctl fifo are created here.
   */
  bundle: string;
  /** conmon writes <exitDir>/<id> holding the exit code when the container exits. */
  exitDir: string;
  /** conmon writes <persistDir>/exit and, on an OOM kill, <persistDir>/oom. */
  persistDir?: string;
  log: LogConfig;
  /** journald only (conmon rejects a tag with k8s-file). */
  logTag?: string;
  /** Bytes; the k8s-file log is truncated (replaced) when it would grow past this. */
  logSizeMax?: number;
  /** -i: give the container a stdin pipe, fed from the attach socket. */
  stdin?: boolean;
  /** Keep the container's stdin open when an attached client disconnects. */
  leaveStdinOpen?: boolean;
  /** -t: the container gets a pty (process.terminal must match in config.json). */
  terminal?: boolean;
  /** argv run by conmon after the container exits (e.g. skiff ... container cleanup ID); argv[0] must be absolute. */
  exitCommand?: string[];
  exitDelaySeconds?: number;
  /** The host's sd_notify socket: conmon binds <bundle>/notify/notify.sock and relays what the container sends there. */
  sdNotifySocket?: string;
  /** Default <bundle>/pidfile. */
  containerPidFile?: string;
  /** Default <bundle>/conmon.pid. */
  conmonPidFile?: string;
  /** The runtime's JSON log (--log); default <bundle>/oci-log. */
  ociLogPath?: string;
  /** conmon's own --log-level (its messages go to its stderr, i.e. nowhere once it daemonizes). */
  conmonLogLevel?: 'trace' | 'debug' | 'info' | 'warning' | 'error';
  /** Environment for conmon, the runtime and the exit command; process.env by default. */
  env?: NodeJS.ProcessEnv;
  /** Give up waiting for conmon's report after this long (default 60 s); the container is then removed. */
  timeoutMs?: number;
}

export interface MonitorStarted {
  /** Host pid of the container's init process. */
  pid: number;
  /** Pid of the resident conmon. */
  conmonPid: number;
  /** SOCK_SEQPACKET attach socket: <bundle>/attach. */
  attachSocket: string;
  /** Control fifo (terminal resize, log reopen): <bundle>/ctl. */
  ctlPath: string;
  ociLog: string;
}

/** The seam the container lifecycle depends on; tests use a fake. */
export interface Monitor {
  start(opts: MonitorOptions): Promise<MonitorStarted>;
}

export const conmonMonitor: Monitor = {start: startMonitor};

export function attachSocketPath(bundle: string): string {
  return path.join(bundle, 'attach');
}

export function ctlPath(bundle: string): string {
  return path.join(bundle, 'ctl');
}

function defaults(o: MonitorOptions) {
  return {
    containerPidFile: o.containerPidFile ?? path.join(o.bundle, 'pidfile'),
    conmonPidFile: o.conmonPidFile ?? path.join(o.bundle, 'conmon.pid'),
    ociLog: o.ociLogPath ?? path.join(o.bundle, 'oci-log'),
  };
}

/**
 * conmon's argv. Flags whose use is not obvious:
 *  --api-version 1   sync-pipe messages as {"data": N}; conmon's flag takes no value, the
 *                    "1" is an ignored positional (podman passes it the same way).
 *  -u ID             conmon requires a "cuuid"; the container id serves.
 *  --full-attach     the attach socket is <bundle>/attach itself, not a symlink under
 *                    --socket-dir-path; conmon binds and skiff connects through
 *                    /proc/self/fd/N, so the path length does not matter and no symlink
 *                    directory needs cleaning up. --socket-dir-path is then unused.
 *  --runtime-arg=X   global runtime flags (--root, --log, --log-format=json) placed before
 *                    `create`; the = form because GOption would not take "--root" as a value.
 *  --exit-command-arg=X  likewise (arguments like "-c").
 *  no --syslog, no --sync: conmon must daemonize so skiff never waits on it.
 */
export function conmonArgs(o: MonitorOptions): string[] {
  const d = defaults(o);
  const a: string[] = ['--api-version', '1', '-c', o.id, '-u', o.id, '-n', o.name, '-r', o.runtime.path, '-b', o.bundle, '-p', d.containerPidFile, '-P', d.conmonPidFile];
  switch (o.log.driver) {
    case 'k8s-file':
      a.push('-l', `k8s-file:${o.log.path}`);
      if (o.logSizeMax && o.logSizeMax > 0) a.push('--log-size-max', String(o.logSizeMax));
      break;
    case 'journald':
      a.push('-l', 'journald');
      if (o.logTag) a.push('--log-tag', o.logTag);
      break;
    case 'none':
      a.push('-l', 'none');
      break;
  }
  a.push('--exit-dir', o.exitDir);
  if (o.persistDir) a.push('--persist-dir', o.persistDir);
  a.push('--full-attach');
  // As podman: with a terminal the pty is the container's stdin (conmon -t alone);
  // -i would make conmon close it when an attach client detaches.
  if (o.terminal) a.push('-t');
  else if (o.stdin) a.push('-i');
  if (o.leaveStdinOpen) a.push('--leave-stdin-open');
  for (const r of [...o.runtime.globalArgs(), `--log=${d.ociLog}`, '--log-format=json']) a.push(`--runtime-arg=${r}`);
  if (o.exitCommand && o.exitCommand.length > 0) {
    const [cmd, ...rest] = o.exitCommand;
    if (!path.isAbsolute(cmd)) throw new SkiffError('invalid-input', `exit command must be an absolute path: "${cmd}"`);
    a.push('--exit-command', cmd);
    for (const r of rest) a.push(`--exit-command-arg=${r}`);
    if (o.exitDelaySeconds && o.exitDelaySeconds > 0) a.push('--exit-delay', String(Math.floor(o.exitDelaySeconds)));
  }
  if (o.sdNotifySocket) a.push('--sdnotify-socket', o.sdNotifySocket);
  if (o.conmonLogLevel) a.push('--log-level', o.conmonLogLevel);
  return a;
}

/** What conmon keeps of skiff's environment besides the locale and skiff's own SKIFF_* settings (see conmonEnv). */
const CONMON_ENV = ['PATH', 'HOME', 'XDG_RUNTIME_DIR', 'TMPDIR', 'CONTAINERS_CONF'];

/**
 * conmon's environment, which the runtime and the exit command inherit: as
 * podman builds it (PATH, HOME, XDG_RUNTIME_DIR, CONTAINERS_CONF and the
 * LC_* locale), plus LANG, TMPDIR and skiff's own SKIFF_* settings, so
 * `skiff container cleanup` runs as the command that started the container
 * did. Nothing else of the caller's: conmon stays resident for the
 * container's whole life. The container's own environment comes from its
 * config, never from here; systemd's notify socket and socket activation
 * (NOTIFY_SOCKET, LISTEN_*) belong to skiff's caller and stay behind.
 *
 * A UTF-8 locale is kept, or given (C.UTF-8) when the caller names none:
 * in the C locale the resident monitor measured 2.34-2.56 MB RSS against
 * 1.96-2.12 MB with LANG=C.UTF-8, the same machine and minute. Most of the
 * difference is the dynamic loader's pages (140-168 kB against 16 kB), as
 * if glib's charset conversion (iconv, which is a no-op for UTF-8) loaded
 * something; the cause is not proven, the figures are.
 */
export function conmonEnv(base: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(base)) {
    if (v !== undefined && (CONMON_ENV.includes(k) || k === 'LANG' || k.startsWith('LC_') || k.startsWith('SKIFF_'))) env[k] = v;
  }
  if (!env.LANG && !env.LC_ALL && !env.LC_CTYPE) env.LANG = 'C.UTF-8';
  return env;
}

function monitorEnv(base: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env = conmonEnv(base);
  env._OCI_SYNCPIPE = '3';
  return env;
}

function removeIfExists(p: string): void {
  try {
    fs.unlinkSync(p);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

/**
 * Starts conmon for a container and waits until the runtime has created it.
 * Resolves with the container's and conmon's pids. On failure the runtime's
 * record is removed (conmon exits by itself after reporting) and the error is
 * typed: 'command-not-found' (127), 'cannot-invoke' (126), else 'internal' (125).
 */
export async function startMonitor(o: MonitorOptions): Promise<MonitorStarted> {
  const d = defaults(o);
  const args = conmonArgs(o);
  fs.mkdirSync(o.exitDir, {recursive: true});
  if (o.persistDir) fs.mkdirSync(o.persistDir, {recursive: true});
  // Leftovers of an earlier run of this container would be read as this run's.
  for (const p of [exitFilePath(o.exitDir, o.id), d.containerPidFile, d.conmonPidFile, d.ociLog, path.join(o.bundle, 'oom')]) removeIfExists(p);
  if (o.persistDir) for (const f of ['exit', 'oom']) removeIfExists(path.join(o.persistDir, f));

  const t0 = process.hrtime.bigint(); // not performance.now(): perf_hooks costs ~1 ms to load
  log.debug(`${o.conmonPath} ${args.join(' ')}`);
  cloexecFrom(3);
  let child: MonitorChild;
  try {
    child = spawnMonitor(o.conmonPath, [o.conmonPath, ...args], monitorEnv(o.env ?? process.env), o.bundle);
  } catch (e) {
    throw new SkiffError('internal', `cannot run conmon ${o.conmonPath}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, {cause: e});
  }
  const sync = new net.Socket({fd: child.syncFd, readable: true, writable: false});
  sync.on('error', () => {});

  const timeoutMs = o.timeoutMs ?? 60_000;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  let msg: SyncMessage | undefined | 'timeout';
  try {
    msg = await Promise.race([readSyncMessage(sync), timedOut]);
  } finally {
    clearTimeout(timer);
    sync.destroy();
  }
  // The intermediate exits right after forking the daemon, long before runc
  // create is done; after a timeout it may hang: it is killed first.
  if (msg === 'timeout') killQuietly(child.pid);
  const status = waitChild(child.pid, true);
  const errText = drainStderr(child.errFd);

  if (msg !== 'timeout' && msg && msg.data > 0) {
    const conmonPid = readPid(d.conmonPidFile);
    if (!conmonPid) throw new SkiffError('internal', `conmon for container ${o.id} wrote no pid file ${d.conmonPidFile}`);
    log.debug(`conmon ${conmonPid} created container ${o.id} (pid ${msg.data}) in ${(Number(process.hrtime.bigint() - t0) / 1e6).toFixed(1)} ms`);
    return {pid: msg.data, conmonPid, attachSocket: attachSocketPath(o.bundle), ctlPath: ctlPath(o.bundle), ociLog: d.ociLog};
  }

  // Failure: make sure nothing is left running.
  let err: SkiffError;
  if (msg === 'timeout') {
    const pid = readPid(d.conmonPidFile);
    if (pid) killQuietly(pid);
    err = new SkiffError('internal', `conmon did not report the creation of container ${o.id} within ${timeoutMs} ms`);
  } else {
    const runtimeMsg = readRuntimeLogError(d.ociLog) ?? (msg?.message ? oneLine(msg.message) : undefined);
    if (runtimeMsg) err = runtimeError(o.runtime.name, runtimeMsg);
    else {
      const why = oneLine(errText) || `exit status ${status}`;
      err = new SkiffError('internal', `conmon failed to create container ${o.id}: ${why}`);
    }
  }
  try {
    await o.runtime.delete(o.id, true);
  } catch (e) {
    log.debug(`cleanup after failed create of ${o.id}: ${(e as Error).message}`);
  }
  throw err;
}

function readPid(file: string): number | undefined {
  try {
    const n = Number.parseInt(fs.readFileSync(file, 'utf8').trim(), 10);
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

/** What conmon wrote to stderr (at most 8 KiB; the pipe is non-blocking, the daemon may hold it open), then closes it. */
function drainStderr(fd: number): string {
  const buf = Buffer.alloc(8192);
  let n = 0;
  try {
    for (let r; n < buf.length && (r = fs.readSync(fd, buf, n, buf.length - n, null)) > 0; ) n += r;
  } catch {
    // EAGAIN: nothing more now
  } finally {
    fs.closeSync(fd);
  }
  return buf.toString('utf8', 0, n);
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}
