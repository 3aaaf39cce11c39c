/**
 * The OCI runtime (runc, or crun by path) as a thin driver: one method per
 * runtime verb, no state of its own, in the spirit of podman's libpod/oci.go.
 * `create` is not here: conmon runs it, so that conmon owns the container's
 * stdio (see conmon.ts).
 *
 * Every call passes `--root <stateDir>` (a private runtime state directory
 * per skiff runroot, so two skiff stores, and parallel tests, never see each
 * other's containers) and `--log-format json`, so a failure's message is the
 * runtime's own, as one line parsed from its JSON stderr.
 *
 * Errors: 'not-found' when the runtime has no such container, 'conflict' when
 * the container is in the wrong state for the verb (e.g. kill of a stopped
 * container), otherwise 'internal' with the runtime's message.
 */
import {execFile} from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {SkiffError} from '../util/errors';
import {log} from '../util/log';
import {lastRuntimeError, oneLine} from './monitor/runtime-error';
import {processStartTime} from '../container/boot';
import {rootlessCgroups} from '../rootless/defaults';
import {removeAll, removeFile} from '../state/remove-tree';

/** The runtime's view of a container (`runc state`). */
export type RuntimeStatus = 'creating' | 'created' | 'running' | 'paused' | 'stopped';

export interface RuntimeState {
  status: RuntimeStatus;
  /** Host pid of the container's init process; 0 when it is not running. */
  pid: number;
}

export interface OciRuntime {
  /** Short name for messages ("runc", "crun"). */
  readonly name: string;
  /** Absolute path of the runtime binary (conmon's --runtime). */
  readonly path: string;
  /** Global flags every invocation needs (--root ...); conmon passes them on as --runtime-arg. */
  globalArgs(): string[];
  /** Starts a created container (runs the user process). */
  start(id: string): Promise<void>;
  /** Sends a signal ("TERM", "SIGKILL", "9") to the init process, or to every process with `all`. */
  kill(id: string, signal: string | number, all?: boolean): Promise<void>;
  /** Removes the runtime's record; `force` also kills a running container and succeeds when there is nothing to delete. */
  delete(id: string, force?: boolean): Promise<void>;
  /** The runtime's state of the container, or undefined when it does not know it. */
  state(id: string): Promise<RuntimeState | undefined>;
  pause(id: string): Promise<void>;
  resume(id: string): Promise<void>;
  /** Applies new linux.resources (OCI LinuxResources JSON) to a live container (`update -r -`). */
  update(id: string, resources: object): Promise<void>;
}

export interface RuncOptions {
  /** The runtime binary, absolute. */
  path: string;
  /** Private state directory (--root), e.g. <runroot>/runtime. */
  stateDir: string;
  /** Name used in messages; the binary's base name by default. */
  name?: string;
  /** More global flags (e.g. --systemd-cgroup). */
  extraArgs?: string[];
  /** Kill a runtime call that takes longer than this (default 60 s). */
  timeoutMs?: number;
}

/**
 * The runtime's environment: skiff's, minus systemd's notify socket. runc
 * and crun act on $NOTIFY_SOCKET themselves (runc's start then waits for
 * READY); skiff relays it through conmon instead (--sdnotify).
 */
function runtimeEnv(): NodeJS.ProcessEnv {
  if (process.env.NOTIFY_SOCKET === undefined) return process.env;
  const env = {...process.env};
  delete env.NOTIFY_SOCKET;
  return env;
}

const STATUSES: readonly RuntimeStatus[] = ['creating', 'created', 'running', 'paused', 'stopped'];
const SIGNAL = /^(SIG)?[A-Z][A-Z0-9+-]*$|^[0-9]{1,2}$/;

/** runc and crun share the command line for every verb used here. */
export class RuncRuntime implements OciRuntime {
  readonly name: string;
  readonly path: string;
  private readonly stateDir: string;
  private readonly extraArgs: string[];
  private readonly timeoutMs: number;

  constructor(opts: RuncOptions) {
    if (!path.isAbsolute(opts.path)) throw new SkiffError('invalid-input', `OCI runtime path must be absolute: "${opts.path}"`);
    if (!path.isAbsolute(opts.stateDir)) throw new SkiffError('invalid-input', `OCI runtime state directory must be absolute: "${opts.stateDir}"`);
    this.path = opts.path;
    this.name = opts.name ?? path.basename(opts.path);
    this.stateDir = opts.stateDir;
    this.extraArgs = opts.extraArgs ?? [];
    this.timeoutMs = opts.timeoutMs ?? 60_000;
  }

  globalArgs(): string[] {
    return [`--root=${this.stateDir}`, ...this.extraArgs];
  }

  async start(id: string): Promise<void> {
    // runc's own start: the created init waits to open <state>/exec.fifo for
    // writing; opening it for reading lets it write one byte and exec the
    // container's process (closing the fifo), then the fifo is removed. Done
    // here it saves a runc start (~8 ms of every start and run). Anything
    // unusual (no fifo: not in the created state; init gone) is left to runc
    // and its own error.
    if (this.fastPaths()) {
      const st = readRuncState(this.stateDir, id);
      const fifo = path.join(this.stateDir, id, EXEC_FIFO);
      if (st && initAlive(st) && fs.existsSync(fifo) && (await startThroughFifo(fifo, st))) return;
    }
    await this.run(['start', id], id);
  }

  async kill(id: string, signal: string | number, all = false): Promise<void> {
    const sig = String(signal).toUpperCase();
    if (!SIGNAL.test(sig)) throw new SkiffError('invalid-input', `invalid signal "${signal}"`);
    // --all walks the container's cgroup: a rootless container without one has only its init to signal
    // (its own pid namespace dies with it), as podman does.
    const wantAll = all && rootlessCgroups();
    const num = /^\d+$/.test(sig) ? Number(sig) : (os.constants.signals as Record<string, number>)[sig.startsWith('SIG') ? sig : `SIG${sig}`];
    const st = this.name === 'runc' ? readRuncState(this.stateDir, id) : undefined;
    if (st && num !== os.constants.signals.SIGKILL) await awaitExec(st, path.join(this.stateDir, id, EXEC_FIFO));
    // runc's own kill of the init process: the pid from its state.json, checked
    // against the recorded start time, then kill(2). Done here it saves a runc
    // start (10-20 ms of a stop); anything unusual is left to runc.
    if (!wantAll && this.fastPaths()) {
      if (st && num !== undefined && initAlive(st)) {
        try {
          process.kill(st.pid, num);
          return;
        } catch (err) {
          log.debug(`kill ${st.pid}: ${(err as Error).message}; asking ${this.name}`);
        }
      }
    }
    await this.run(['kill', ...(wantAll ? ['--all'] : []), id, sig], id);
  }

  async delete(id: string, force = false): Promise<void> {
    // Without state there is nothing to delete, and a forced delete would
    // only spend a runtime start (15-30 ms) to say so.
    const dir = path.join(this.stateDir, id);
    if (force && !hasRuntimeState(this.stateDir, id)) return;
    // What runc's delete does for a container whose init is gone, with its own
    // pid namespace (so nothing of it can run on): remove its cgroups (EBUSY:
    // something still runs, let runc kill it) and its state directory. No hooks
    // are ever configured by skiff.
    if (force && this.fastPaths()) {
      const st = readRuncState(this.stateDir, id);
      if (st && st.privatePid && !initAlive(st) && removeCgroupDirs(st.cgroupPaths)) {
        removeAll(dir);
        return;
      }
    }
    await this.run(['delete', ...(force ? ['--force'] : []), id], id);
  }

  /** runc's state.json is read directly only for runc itself (crun keeps another format). */
  private fastPaths(): boolean {
    return this.name === 'runc' && !process.env.SKIFF_RUNTIME_EXEC_ONLY;
  }

  async state(id: string): Promise<RuntimeState | undefined> {
    let out: string;
    try {
      out = await this.run(['state', id], id);
    } catch (err) {
      if (err instanceof SkiffError && err.kind === 'not-found') return undefined;
      throw err;
    }
    let j: {status?: unknown; pid?: unknown};
    try {
      j = JSON.parse(out) as typeof j;
    } catch {
      throw new SkiffError('internal', `${this.name} state ${id}: unexpected output: ${oneLine(out).slice(0, 200)}`);
    }
    const status = STATUSES.includes(j.status as RuntimeStatus) ? (j.status as RuntimeStatus) : undefined;
    if (!status) throw new SkiffError('internal', `${this.name} state ${id}: unknown status ${JSON.stringify(j.status)}`);
    return {status, pid: typeof j.pid === 'number' && status !== 'stopped' ? j.pid : 0};
  }

  async pause(id: string): Promise<void> {
    await this.run(['pause', id], id);
  }

  async resume(id: string): Promise<void> {
    await this.run(['resume', id], id);
  }

  async update(id: string, resources: object): Promise<void> {
    await this.run(['update', '--resources', '-', id], id, JSON.stringify(resources));
  }

  /** Runs one runtime verb; resolves with its stdout, rejects with a typed error carrying the runtime's message. */
  private run(args: string[], id: string, stdin?: string): Promise<string> {
    const argv = [...this.globalArgs(), '--log-format=json', ...args];
    log.debug(`${this.path} ${argv.join(' ')}`);
    return new Promise((resolve, reject) => {
      const child = execFile(this.path, argv, {env: runtimeEnv(), encoding: 'utf8', timeout: this.timeoutMs, killSignal: 'SIGKILL', maxBuffer: 4 << 20}, (err, stdout, stderr) => {
        if (!err) return resolve(stdout);
        const e = err as NodeJS.ErrnoException & {killed?: boolean; signal?: string | null};
        if (e.code === 'ENOENT' || e.code === 'EACCES') {
          return reject(new SkiffError('internal', `cannot run OCI runtime ${this.path}: ${e.code}`, {cause: err}));
        }
        if (e.killed) return reject(new SkiffError('internal', `${this.name} ${args[0]} ${id}: timed out after ${this.timeoutMs} ms`, {cause: err}));
        const msg = lastRuntimeError(stderr) ?? `exit status ${e.code ?? e.signal}`;
        reject(classify(this.name, args[0], id, msg, err));
      });
      if (stdin !== undefined) child.stdin?.end(stdin);
    });
  }
}

function classify(runtime: string, verb: string, id: string, msg: string, cause: unknown): SkiffError {
  const text = `${runtime} ${verb} ${id}: ${msg}`;
  if (/container (does not exist|not found)|no such container/i.test(msg)) return new SkiffError('not-found', text, {cause});
  if (/container (is )?not (running|paused|stopped|created)|cannot (start|delete|pause|resume|kill) .*(running|stopped|paused)|is (already )?(running|paused|stopped)/i.test(msg)) {
    return new SkiffError('conflict', text, {cause});
  }
  return new SkiffError('internal', text, {cause});
}

/** What skiff reads of runc's <root>/<id>/state.json. */
interface RuncStateFile {
  pid: number;
  /** The init process's start time, in clock ticks since boot (/proc/PID/stat field 22). */
  start: number;
  cgroupPaths: string[];
  /** The container has a pid namespace of its own. */
  privatePid: boolean;
}

export function readRuncState(stateDir: string, id: string): RuncStateFile | undefined {
  let j: {init_process_pid?: unknown; init_process_start?: unknown; cgroup_paths?: unknown; config?: {namespaces?: Array<{type?: string; path?: string}>}};
  try {
    j = JSON.parse(fs.readFileSync(path.join(stateDir, id, 'state.json'), 'utf8')) as typeof j;
  } catch {
    return undefined;
  }
  if (typeof j.init_process_pid !== 'number' || typeof j.init_process_start !== 'number' || j.init_process_pid <= 0) return undefined;
  const cg = j.cgroup_paths && typeof j.cgroup_paths === 'object' ? Object.values(j.cgroup_paths as Record<string, unknown>).filter((v): v is string => typeof v === 'string') : [];
  const privatePid = (j.config?.namespaces ?? []).some((n) => n.type === 'NEWPID' && !n.path);
  return {pid: j.init_process_pid, start: j.init_process_start, cgroupPaths: cg, privatePid};
}

const EXEC_FIFO = 'exec.fifo';

/**
 * Reads runc's exec fifo to its end (what `runc start` does): true when the
 * init wrote its byte, so the process runs. The blocking open runs on
 * libuv's pool; should the init die before opening its end, the open is
 * released by opening the write end ourselves (no data: false, runc then
 * reports the state).
 */
async function startThroughFifo(fifo: string, st: {pid: number; start: number}): Promise<boolean> {
  let settled = false;
  // node:fs's callback API, not fs.promises: that module is not in the snapshot, and loading it
  // cost ~1 ms of every start and run.
  const opening = new Promise<number>((resolve, reject) => fs.open(fifo, fs.constants.O_RDONLY, (err, fd) => (err ? reject(err) : resolve(fd))));
  const watch = setInterval(() => {
    if (settled || initAlive(st)) return;
    try {
      fs.closeSync(fs.openSync(fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK));
    } catch {
      // the reader is not there yet, or the fifo is gone: try again
    }
  }, 100);
  let fd: number | undefined;
  try {
    fd = await opening;
    const buf = Buffer.alloc(16);
    let got = 0;
    for (;;) {
      const bytesRead = await new Promise<number>((resolve, reject) => fs.read(fd!, buf, 0, buf.length, null, (err, n) => (err ? reject(err) : resolve(n))));
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    if (got === 0) return false;
    removeFile(fifo);
    return true;
  } catch (err) {
    log.debug(`exec fifo ${fifo}: ${(err as Error).message}; asking runc`);
    return false;
  } finally {
    settled = true;
    clearInterval(watch);
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** runc and crun keep a container's state in <state dir>/<id>/, made at the start of their create. */
export function hasRuntimeState(stateDir: string, id: string): boolean {
  return fs.existsSync(path.join(stateDir, id));
}

/** The name runc's init gives itself (prctl PR_SET_NAME) until it execs the container's process. */
const RUNC_INIT_COMM = 'runc:[2:INIT]';
const EXEC_WAIT_MS = 2000;

/**
 * Waits until a started container's init has exec'd its process. Once its
 * exec fifo has been read, runc's init (a Go program) still runs for a while
 * (0.02-5 ms measured after the read, more under load) before the exec takes
 * it over; a signal sent then reaches Go's handler, not the process, and
 * SIGTERM makes the init exit 2: `run -d` then at once `stop` recorded 2,
 * not the process's own answer. A created container (its fifo still there,
 * the init waiting on it) is not waited for, nor one gone; 2 s at most.
 */
async function awaitExec(st: {pid: number; start: number}, fifo: string): Promise<void> {
  const end = Date.now() + EXEC_WAIT_MS;
  while (readComm(st.pid) === RUNC_INIT_COMM && !fs.existsSync(fifo) && initAlive(st) && Date.now() < end) {
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

function readComm(pid: number): string | undefined {
  try {
    return fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trimEnd();
  } catch {
    return undefined;
  }
}

/** The recorded init process still runs (same pid, same start time: not a reused pid). */
export function initAlive(st: {pid: number; start: number}): boolean {
  return processStartTime(st.pid) === String(st.start);
}

/** rmdir each cgroup directory (gone is fine); false when one is still in use. */
function removeCgroupDirs(dirs: string[]): boolean {
  for (const d of dirs) {
    if (!d.startsWith('/sys/fs/cgroup/')) return false;
    try {
      fs.rmdirSync(d);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') return false;
    }
  }
  return true;
}

