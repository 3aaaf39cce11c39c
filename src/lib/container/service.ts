/**
 * Container lifecycle: create, start (mount, bundle, conmon, runtime start),
 * stop, kill, remove, wait, and cleanup (conmon's exit command). Every
 * state change happens under the container's lock on a fresh read, and is
 * on disk before the call returns. No lock is held while waiting for a
 * container to exit.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type {Paths} from '../state/paths';
import type {ImageService} from '../image/service';
import {ContainerStore, type ContainerRecord} from './store';
import type {ContainerConfig, ContainerState} from './types';
import {transition} from './state-machine';
import {bootId, processAlive} from './boot';
import {containerPaths, prepare, unprepare} from './prepare';
import {VolumeService, containersUsingVolume} from './volumes';
import {RuncRuntime, type OciRuntime} from '../runtime/oci-runtime';
import {conmonMonitor, type Monitor} from '../runtime/conmon';
import {openAttach, type AttachSession, type AttachStreams} from '../runtime/attach';
import {readExitFile, waitForExit, readOomFile} from '../runtime/exit-file';
import {findBinary, cgroupMode} from '../runtime/host';
import {selfCommand} from '../util/self';
import {containerCgroupPath, removeCgroup} from '../runtime/cgroups';
import {SkiffError, conflict, invalidInput, messageOf, notFound} from '../util/errors';
import {log} from '../util/log';
import {signalNumber, sizeInBytes} from './options';

export interface Report {
  id: string;
  rawInput: string;
  error?: SkiffError;
}

export function initialState(): ContainerState {
  return {status: 'created', pid: 0, conmonPid: 0, exitCode: 0, startedAt: '', finishedAt: '', oomKilled: false, error: '', restartCount: 0, bootId: bootId(), mounted: false, stoppedByUser: false};
}

const asSkiff = (err: unknown) => (err instanceof SkiffError ? err : new SkiffError('internal', messageOf(err), {cause: err}));

export class ContainerService {
  readonly store: ContainerStore;
  readonly volumes: VolumeService;
  private readonly monitor: Monitor;

  constructor(
    private readonly paths: Paths,
    private readonly images: ImageService,
    opts: {monitor?: Monitor} = {},
  ) {
    this.store = new ContainerStore(paths);
    this.volumes = new VolumeService(paths, (name) => containersUsingVolume(this.store.list(), name));
    this.monitor = opts.monitor ?? conmonMonitor;
  }

  /** The runtime named in the record (name or path); runc by default, as crun cannot run on hybrid cgroups. */
  runtime(name: string): OciRuntime {
    const p = findBinary(name);
    if (!p) throw invalidInput(`OCI runtime "${name}" not found: install it or pass --runtime PATH`);
    if (path.basename(p) === 'crun' && cgroupMode() === 'hybrid') {
      throw invalidInput('crun does not support this host\'s hybrid cgroup layout (cgroup v1 controllers with a v2 mount): use --runtime runc');
    }
    return new RuncRuntime({path: p, stateDir: path.join(this.paths.runroot, 'runtime')});
  }

  static defaultRuntime(): string {
    if (process.env.SKIFF_RUNTIME) return process.env.SKIFF_RUNTIME;
    return cgroupMode() !== 'hybrid' && findBinary('crun') && !findBinary('runc') ? 'crun' : 'runc';
  }

  // --- reading -------------------------------------------------------------------

  /** State as it really is now, without writing: an exit file or a dead monitor means exited. */
  observed(rec: ContainerRecord): ContainerState {
    const s = rec.state;
    // A removal whose process was killed midway: the container no longer runs; rm (or check --repair) finishes it.
    if (s.status === 'removing' && this.abandoned(s)) return {...s, status: 'exited', pid: 0, conmonPid: 0};
    if (s.status !== 'running' && s.status !== 'paused' && s.status !== 'stopping') return s;
    const settled = this.observedLive(rec);
    // A stop whose process was killed before the container exited: it still runs.
    if (settled === s && s.status === 'stopping' && this.abandoned(s)) return {...s, status: 'running'};
    return settled;
  }

  /** A live foreground process other than this one waits for the exit code (and removes --rm containers itself). */
  private otherWaiter(s: ContainerState): boolean {
    return !!s.waiterPid && s.waiterPid !== process.pid && processAlive(s.waiterPid);
  }

  /** The process that set a transitional status is gone (and it is not us). */
  private abandoned(s: ContainerState): boolean {
    return !!s.busyPid && s.busyPid !== process.pid && !processAlive(s.busyPid);
  }

  private observedLive(rec: ContainerRecord): ContainerState {
    const s = rec.state;
    if (s.bootId !== bootId()) {
      return {...s, status: 'exited', pid: 0, conmonPid: 0, error: 'the system was restarted while the container was running'};
    }
    const p = containerPaths(this.paths, rec.config.id);
    const code = readExitFile(p.exitDir, rec.config.id);
    if (code !== undefined) return {...s, status: 'exited', exitCode: code, pid: 0};
    if (!fs.existsSync(path.join(p.bundle, 'config.json'))) {
      return {...s, status: 'exited', pid: 0, conmonPid: 0, error: 'the runtime state is gone (the system was restarted or the runroot removed) while the container was running'};
    }
    if (s.conmonPid && !processAlive(s.conmonPid)) {
      return {...s, status: 'exited', pid: 0, conmonPid: 0, error: 'conmon exited without recording an exit code'};
    }
    return s;
  }

  list(): ContainerRecord[] {
    return this.store.list().map((r) => ({...r, state: this.observed(r)}));
  }

  get(input: string): ContainerRecord {
    const r = this.store.resolve(input);
    return {...r, state: this.observed(r)};
  }

  find(input: string): ContainerRecord | undefined {
    const r = this.store.find(input);
    return r && {...r, state: this.observed(r)};
  }

  // --- create ------------------------------------------------------------------------

  async create(config: ContainerConfig, opts: {replace?: boolean; generateName?: (taken: (name: string) => boolean) => string} = {}): Promise<ContainerRecord> {
    if (config.cidFile && fs.existsSync(config.cidFile)) {
      throw invalidInput(`container id file exists. Ensure another container is not using it or delete ${config.cidFile}`);
    }
    // Volumes: create named ones on first use; anonymous ones get a name now.
    const created: string[] = [];
    try {
      for (const m of config.mounts) {
        if (m.type !== 'volume') continue;
        if (m.anonymous || !m.name) {
          const v = await this.volumes.create({anonymous: true});
          m.name = v.name;
          created.push(v.name);
        } else if (!this.volumes.find(m.name)) {
          await this.volumes.create({name: m.name, ignoreExisting: true});
          created.push(m.name);
        }
      }
      await this.store.create(config, initialState(), {
        generateName: opts.generateName,
        replace: opts.replace
          ? async (existing) => {
              await this.removeOne(existing, {force: true, volumes: false, underNamesLock: true});
            }
          : undefined,
      });
    } catch (err) {
      if (created.length) await this.volumes.remove(created, {force: true}).catch(() => undefined);
      throw err;
    }
    if (config.cidFile) fs.writeFileSync(config.cidFile, config.id);
    return {config, state: initialState()};
  }

  // --- start ---------------------------------------------------------------------------

  /**
   * Start a created or exited container. With `attach`, the attach socket is
   * connected before the process runs so no output is lost; the session is
   * returned for the caller to wait on.
   */
  async start(input: string, opts: {attach?: AttachStreams} = {}): Promise<{record: ContainerRecord; session?: AttachSession}> {
    const rec0 = this.store.resolve(input);
    const lock = await this.store.lockContainer(rec0.config.id);
    try {
      const rec = this.store.read(rec0.config.id);
      if (!rec) throw notFound(`no container with name or ID "${input}" found: no such container`);
      const state = this.observed(rec);
      if (state.status === 'running' || state.status === 'paused') {
        if (opts.attach) throw conflict(`container ${rec.config.name} is already running`);
        return {record: {...rec, state}};
      }
      if (state.status !== rec.state.status) await this.finishExit(rec, state); // stale "running": clean up first
      return await this.startLocked(rec.config, opts);
    } finally {
      lock.release();
    }
  }

  private async startLocked(config: ContainerConfig, opts: {attach?: AttachStreams}): Promise<{record: ContainerRecord; session?: AttachSession}> {
    let fresh = this.store.read(config.id)!;
    transition(fresh.state.status, 'start', config.name);
    if (fresh.state.mounted) {
      // An earlier start was killed midway: its mount, conmon or process may remain.
      await this.finishExit(fresh, fresh.state);
      fresh = this.store.read(config.id)!;
    }
    // Record the intent first: if this process dies from here on, the next
    // invocation knows a mount (and maybe a conmon) may exist and cleans up.
    this.store.writeState(config.id, {...fresh.state, mounted: true});
    const image = this.images.list().find((i) => i.id === config.image);
    if (!image) throw notFound(`image ${config.image.slice(0, 12)} of container ${config.name} is no longer in the store`);
    const imageConfig = this.images.config(image);
    const layerDirs = image.layers.map((l) => this.images.layers.diffPath(l));
    const p = containerPaths(this.paths, config.id);
    const runtime = this.runtime(config.runtime);
    await prepare(this.paths, {config, image: imageConfig, layerDirs, volumes: this.volumes});
    let session: AttachSession | undefined;
    try {
      const conmon = findBinary('conmon');
      if (!conmon) throw invalidInput('conmon not found: install it (Debian package conmon)');
      const self = selfCommand();
      const started = await this.monitor.start({
        conmonPath: conmon,
        runtime,
        id: config.id,
        name: config.name,
        bundle: p.bundle,
        exitDir: p.exitDir,
        persistDir: p.bundle,
        log: config.logDriver === 'k8s-file' ? {driver: 'k8s-file', path: config.logOpts.path ?? p.log} : {driver: config.logDriver},
        logTag: config.logDriver === 'journald' ? config.logOpts.tag : undefined,
        logSizeMax: config.logOpts['max-size'] !== undefined ? sizeInBytes(config.logOpts['max-size']) : undefined,
        stdin: config.interactive,
        terminal: config.tty,
        exitCommand: [...self, '--root', this.paths.root, '--runroot', this.paths.runroot, 'container', 'cleanup', config.id],
        containerPidFile: config.pidFile,
        conmonPidFile: config.conmonPidFile,
      });
      if (opts.attach) session = openAttach(started.attachSocket, opts.attach);
      await runtime.start(config.id);
      const state: ContainerState = {
        ...fresh.state,
        status: transition('created', 'started', config.name),
        pid: started.pid,
        conmonPid: started.conmonPid,
        exitCode: 0,
        startedAt: new Date().toISOString(),
        finishedAt: '',
        oomKilled: false,
        error: '',
        bootId: bootId(),
        mounted: true,
        stoppedByUser: false,
        busyPid: undefined,
        waiterPid: opts.attach ? process.pid : undefined,
      };
      this.store.writeState(config.id, state);
      return {record: {config, state}, session};
    } catch (err) {
      session?.detach();
      await runtime.delete(config.id, true).catch(() => undefined);
      unprepare(this.paths, config.id);
      const e = asSkiff(err);
      this.store.writeState(config.id, {...fresh.state, status: 'exited', exitCode: e.kind === 'command-not-found' ? 127 : e.kind === 'cannot-invoke' ? 126 : 125, error: e.message, finishedAt: new Date().toISOString(), pid: 0, conmonPid: 0, mounted: false});
      throw e;
    }
  }

  // --- exit and cleanup --------------------------------------------------------------

  /**
   * conmon's exit command (and the foreground path after the container
   * exits): record the exit, unmount, apply --rm and the restart policy.
   * Idempotent: a second call finds nothing to do.
   */
  async cleanup(input: string): Promise<void> {
    const rec0 = this.store.find(input);
    if (!rec0) return; // already removed (--rm by the foreground run)
    let removeAfter = false;
    let restart = false;
    const lock = await this.store.lockContainer(rec0.config.id);
    try {
      const rec = this.store.read(rec0.config.id);
      if (!rec) return;
      const state = this.observed(rec);
      if (state.status === 'running' || state.status === 'paused' || state.status === 'stopping') return; // not exited yet
      if (rec.state.status === 'running' || rec.state.status === 'stopping' || rec.state.status === 'paused' || rec.state.mounted) {
        await this.finishExit(rec, state);
        const r = rec.config.restart;
        const failed = state.exitCode !== 0;
        restart =
          !rec.state.stoppedByUser &&
          (r.name === 'always' || r.name === 'unless-stopped' || (r.name === 'on-failure' && failed && (r.maxRetries === 0 || rec.state.restartCount < r.maxRetries)));
        removeAfter = rec.config.autoRemove && !this.otherWaiter(rec.state);
        if (restart) {
          const now = this.store.read(rec.config.id)!;
          this.store.writeState(rec.config.id, {...now.state, restartCount: now.state.restartCount + 1});
          await this.startLocked(rec.config, {});
          return;
        }
      } else {
        removeAfter = rec.config.autoRemove && (rec.state.status === 'exited' || rec.state.status === 'stopped') && !this.otherWaiter(rec.state);
      }
    } catch (err) {
      log.warn(`cleanup of ${rec0.config.id.slice(0, 12)}: ${messageOf(err)}`);
      throw err;
    } finally {
      lock.release();
    }
    if (removeAfter && !restart) {
      // The foreground run and conmon's exit command may both get here; one removes.
      await this.removeOne(rec0.config.id, {force: true, volumes: true}).catch((err) => {
        if (!(err instanceof SkiffError && err.kind === 'not-found')) throw err;
      });
    }
  }

  /** Under the container lock: the process is gone; record it and release what it held. */
  private async finishExit(rec: ContainerRecord, observed: ContainerState, opts: {removing?: boolean} = {}): Promise<void> {
    // Before a removal the record is about to go: on a full disk its state
    // writes may fail, and the teardown (which frees the space) goes on.
    const write = (st: ContainerState) => {
      try {
        this.store.writeState(rec.config.id, st);
      } catch (err) {
        if (!opts.removing || !(err instanceof SkiffError && err.kind === 'storage')) throw err;
        log.debug(`${rec.config.id}: ${err.message}`);
      }
    };
    const p = containerPaths(this.paths, rec.config.id);
    const code = readExitFile(p.exitDir, rec.config.id) ?? observed.exitCode;
    const oom = readOomFile(p.bundle);
    const wasStarted = rec.state.status !== 'created';
    // The outcome is recorded before anything is torn down: a reader that
    // comes in between sees the final status and exit code, never a running
    // container whose exit file and bundle have vanished. `mounted` stays
    // true until the teardown is done, so a crash here is finished later.
    const final: ContainerState = {
      ...rec.state,
      // A start killed before the process ran leaves a container that never ran: still "created".
      status: wasStarted ? 'exited' : 'created',
      exitCode: code,
      pid: 0,
      conmonPid: 0,
      finishedAt: wasStarted ? new Date().toISOString() : rec.state.finishedAt,
      oomKilled: oom,
      mounted: true,
      error: observed.error || rec.state.error,
    };
    write(final);
    try {
      await this.runtime(rec.config.runtime).delete(rec.config.id, true);
    } catch (err) {
      log.debug(`runtime delete ${rec.config.id}: ${messageOf(err)}`);
    }
    removeCgroup(containerCgroupPath(rec.config.id, rec.config.cgroupParent));
    unprepare(this.paths, rec.config.id);
    fs.rmSync(path.join(p.exitDir, rec.config.id), {force: true});
    write({...final, mounted: false});
  }

  // --- stop / kill --------------------------------------------------------------------

  async kill(input: string, signal: string): Promise<ContainerRecord> {
    const rec = this.get(input);
    if (rec.state.status !== 'running' && rec.state.status !== 'paused' && rec.state.status !== 'stopping') {
      throw conflict(`can only kill running containers. ${rec.config.id} is in state ${rec.state.status}: container state improper`);
    }
    if (signalNumber(signal) === undefined) throw invalidInput(`invalid signal: ${signal}`);
    await this.runtime(rec.config.runtime).kill(rec.config.id, signal);
    return rec;
  }

  /** Signal, wait up to `timeout` seconds, then SIGKILL; finally clean up. */
  async stop(input: string, opts: {timeout?: number} = {}): Promise<ContainerRecord> {
    const rec0 = this.store.resolve(input);
    const id = rec0.config.id;
    let signal = rec0.config.stopSignal;
    const timeout = opts.timeout ?? rec0.config.stopTimeout;
    const lock = await this.store.lockContainer(id);
    let running = false;
    let runtime: OciRuntime | undefined;
    try {
      const rec = this.store.read(id)!;
      const st = this.observed(rec);
      running = st.status === 'running' || st.status === 'paused' || st.status === 'stopping';
      if (running) {
        this.store.writeState(id, {...rec.state, status: transition(rec.state.status, 'stop', rec.config.name), stoppedByUser: true, busyPid: process.pid});
        runtime = this.runtime(rec.config.runtime);
        if (st.status === 'paused') await runtime.resume(id).catch(() => undefined);
        signal = rec.config.stopSignal;
        if (timeout > 0) await runtime.kill(id, signal).catch((err) => log.debug(`kill ${signal}: ${messageOf(err)}`));
      }
    } finally {
      lock.release();
    }
    if (running && runtime) {
      const exitDir = containerPaths(this.paths, id).exitDir;
      let code = timeout > 0 ? await waitForExit(exitDir, id, {timeoutMs: timeout * 1000}) : undefined;
      if (code === undefined) {
        if (timeout > 0) log.warn(`StopSignal ${signal} failed to stop container ${rec0.config.name} in ${timeout} seconds, resorting to SIGKILL`);
        await runtime.kill(id, 'KILL', true).catch((err) => log.debug(`kill KILL: ${messageOf(err)}`));
        code = await waitForExit(exitDir, id, {timeoutMs: 30_000});
        if (code === undefined && !processAlive(this.store.read(id)?.state.conmonPid ?? 0)) code = 137;
      }
    }
    await this.cleanup(id);
    return this.find(id) ?? rec0;
  }

  // --- remove ---------------------------------------------------------------------------

  async remove(inputs: string[], opts: {force?: boolean; volumes?: boolean; ignore?: boolean; timeout?: number}): Promise<Report[]> {
    const reports: Report[] = [];
    for (const raw of inputs) {
      try {
        const rec = this.store.resolve(raw);
        await this.removeOne(rec.config.id, {force: opts.force, volumes: opts.volumes, timeout: opts.timeout});
        reports.push({id: rec.config.id, rawInput: raw});
      } catch (err) {
        const e = asSkiff(err);
        if (opts.ignore && e.kind === 'not-found') continue;
        reports.push({id: '', rawInput: raw, error: e});
      }
    }
    return reports;
  }

  private async removeOne(id: string, opts: {force?: boolean; volumes?: boolean; underNamesLock?: boolean; timeout?: number}): Promise<void> {
    const rec0 = this.store.read(id);
    if (!rec0) throw notFound(`no container with ID "${id}" found: no such container`);
    const st0 = this.observed(rec0);
    if (st0.status === 'running' || st0.status === 'paused' || st0.status === 'stopping') {
      if (!opts.force) transition(st0.status, 'remove', rec0.config.name);
      await this.stop(id, {timeout: opts.timeout ?? 0});
    }
    const lock = await this.store.lockContainer(id);
    let anonymous: string[] = [];
    try {
      const rec = this.store.read(id);
      if (!rec) return;
      const st = this.observed(rec);
      if (st.status === 'running' || st.status === 'paused') throw conflict(`container ${rec.config.name} is running again; cannot remove it: container state improper`);
      if (rec.state.mounted || st.status !== rec.state.status) await this.finishExit(rec, st, {removing: true});
      try {
        this.store.writeState(id, {...this.store.read(id)!.state, status: 'removing', busyPid: process.pid});
      } catch (err) {
        // On a full disk the marker cannot be written, but removing is how space comes back:
        // go on (a removal killed from here on leaves an exited container that rm removes again).
        if (!(err instanceof SkiffError && err.kind === 'storage')) throw err;
        log.debug(`removing ${id}: ${err.message}`);
      }
      await this.runtime(rec.config.runtime).delete(id, true).catch(() => undefined);
      removeCgroup(containerCgroupPath(id, rec.config.cgroupParent));
      unprepare(this.paths, id);
      anonymous = rec.config.mounts.filter((m) => m.type === 'volume' && m.anonymous).map((m) => (m as {name: string}).name);
      if (rec.config.cidFile) fs.rmSync(rec.config.cidFile, {force: true});
      this.store.removeRecord(id);
    } finally {
      lock.release();
    }
    if (opts.volumes && anonymous.length) await this.volumes.remove(anonymous, {force: true}).catch((err) => log.warn(`removing anonymous volumes: ${messageOf(err)}`));
  }

  /**
   * system check --repair: bring one container's record in line with what
   * the kernel says, without restarting it (no restart policy applies): an
   * interrupted removal is finished, a stop whose process died goes back to
   * running, a container that is not running is recorded as exited and its
   * mounts and runtime state are released. `force` also tears down a
   * not-running container whose record already agrees (leftover bundle).
   */
  async settle(id: string, opts: {force?: boolean} = {}): Promise<void> {
    const lock = await this.store.lockContainer(id);
    try {
      const rec = this.store.read(id);
      if (!rec) return;
      const st = this.observed(rec);
      if (rec.state.status === 'removing') {
        if (st.status === 'running' || st.status === 'paused' || st.status === 'stopping') {
          await this.runtime(rec.config.runtime).kill(id, 'KILL', true).catch(() => undefined);
          await waitForExit(containerPaths(this.paths, id).exitDir, id, {timeoutMs: 10_000});
        }
        await this.runtime(rec.config.runtime).delete(id, true).catch(() => undefined);
        removeCgroup(containerCgroupPath(id, rec.config.cgroupParent));
        unprepare(this.paths, id);
        if (rec.config.cidFile) fs.rmSync(rec.config.cidFile, {force: true});
        this.store.removeRecord(id);
        return;
      }
      if (rec.state.status === 'stopping' && st.status === 'running') {
        this.store.writeState(id, {...rec.state, status: 'running', busyPid: undefined});
        return;
      }
      if (st.status === 'running' || st.status === 'paused' || st.status === 'stopping') return;
      if (rec.state.mounted || st.status !== rec.state.status || opts.force) await this.finishExit(rec, st);
    } finally {
      lock.release();
    }
  }

  // --- wait ---------------------------------------------------------------------------

  /** Wait until the container is no longer running; returns its exit code. */
  async wait(input: string, opts: {condition?: string; intervalMs?: number} = {}): Promise<number> {
    const condition = opts.condition ?? 'stopped';
    const want = new Set(condition === 'stopped' || condition === 'exited' ? ['exited', 'stopped'] : [condition]);
    const id = this.store.resolve(input).config.id;
    for (;;) {
      const rec = this.store.read(id);
      if (!rec) throw notFound(`no container with ID "${id}" found: no such container`);
      const st = this.observed(rec);
      if (want.has(st.status)) return st.exitCode;
      if (st.status === 'running' && (condition === 'stopped' || condition === 'exited')) {
        const code = await waitForExit(containerPaths(this.paths, id).exitDir, id, {timeoutMs: 2000});
        if (code !== undefined) return code;
        continue;
      }
      await new Promise((r) => setTimeout(r, opts.intervalMs ?? 100));
    }
  }

  async rename(input: string, name: string): Promise<void> {
    await this.store.rename(input, name);
  }

  /** Containers that use the given image ID. */
  usingImage(imageId: string): string[] {
    return this.store.list().filter((r) => r.config.image === imageId).map((r) => r.config.id);
  }
}
