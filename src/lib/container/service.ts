/**
 * Container lifecycle: create, start (mount, bundle, conmon, runtime start),
 * stop, kill, remove, wait, and cleanup (conmon's exit command). Every
 * state change happens under the container's lock on a fresh read, and is
 * on disk before the call returns. No lock is held while waiting for a
 * container to exit.
 */
import {randomBytes} from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type {Paths} from '../state/paths';
import type {ImageService} from '../image/service';
import {ContainerStore, type ContainerRecord} from './store';
import {ContainerReader, LIVE} from './reader';
import {AUTO_DEFAULT_SIZE, autoMappings, configuresNetnsAfterCreate} from './idmap';
import type {ContainerConfig, ContainerState} from './types';
import {transition} from './state-machine';
import {bootId, processAlive} from './boot';
import {containerPaths, prepare, unprepare} from './prepare';
import {VolumeService, containersUsingVolume} from './volumes';
import {hasRuntimeState, RuncRuntime, type OciRuntime} from '../runtime/oci-runtime';
import {attachSocketPath, conmonMonitor, ctlPath, type Monitor, type MonitorStarted} from '../runtime/conmon';
import {unixDgramSend} from '../util/native';
import {openAttach, type AttachSession, type AttachStreams} from '../runtime/attach';
import {startExec, type ExecStarted} from '../runtime/conmon-exec';
import {execProcess, type ExecRequest} from './exec';
import {rootfsReader} from './user';
import type {OciSpec} from '../runtime/spec/oci-types';
import {readExitFile, waitForExit, readOomFile} from '../runtime/exit-file';
import {findBinary, crunRefusal} from '../runtime/host';
import {selfCommand} from '../util/self';
import {containerCgroupPath, removeCgroup} from '../runtime/cgroups';
import {SkiffError, conflict, invalidInput, messageOf, notFound} from '../util/errors';
import {log, phase} from '../util/log';
import {signalNumber, sizeInBytes} from './options';
import {NetworkService} from '../network/service';
import type {ContainerNetState, NetworkAttachment, NetworkRecord} from '../network/types';
import {bindNetns, createNetns, createNetnsAsync, netnsDir, removeNetns} from '../network/netns';
import {resolveHostPorts} from '../network/ports';
import {addPorts, hostPrimaryIp, plannedSlirp, startSlirp, stopSlirp} from '../network/slirp';
import {defaultSlirpOptions} from '../network/slirp-options';
import {pastaAddress, plannedPasta, startPasta, stopPasta} from '../network/pasta';
import {containerHosts, rewriteNetworkEtcFiles} from './etc-files';

import {rootlessCgroups} from '../rootless/defaults';
import {applicableLimits, delegation} from '../rootless/cgroups';
import {isRootless} from '../rootless/userns';

import {containerEvent} from '../events/emit';
import type {ResourceLimits} from './types';
import {buildResources} from '../runtime/spec/resources';
import {removeAll, removeFile} from '../state/remove-tree';

export {LIVE};

export interface Report {
  id: string;
  rawInput: string;
  error?: SkiffError;
}

export function initialState(): ContainerState {
  return {status: 'created', pid: 0, conmonPid: 0, exitCode: 0, startedAt: '', finishedAt: '', oomKilled: false, error: '', restartCount: 0, bootId: bootId(), mounted: false, stoppedByUser: false};
}

/**
 * conmon's exit command. A foreground run (attached) cleans up itself right
 * after the exit, so conmon waits a second and runs the cleanup only if the
 * exit file is still there (finishExit removes it): no second node start on
 * the foreground path, yet a CLI killed before it cleaned up is still covered.
 * Otherwise the cleanup runs at once, unless a `stop` or `rm` has claimed
 * it (its pid in the bundle's cleanup-claim file, see stop()): that process
 * tears down itself, and a node start for nothing is saved. The command then
 * waits, polling every 0.1 s, while the claimer lives and the exit file is
 * there: once the file is gone the claimer has cleaned up; if the claimer
 * died first (kill -9 of a stop or rm between the container's exit and its
 * teardown) the cleanup runs here, as it would have without a claim. Until
 * session 9 a live claimer made it exit at once, and a claimer killed after
 * that check left the container's mounts and network behind (system check
 * does not judge an exit younger than 30 s). A pid reused by another
 * process, or a killed claimer its parent has not reaped yet (a zombie
 * passes kill -0), is waited for 60 s at most.
 */
export function exitCommand(cleanup: string[], exitFile: string, foreground: boolean, claimFile: string): {exitCommand: string[]; exitDelaySeconds?: number} {
  if (!foreground) {
    const script = 'if read p 2>/dev/null < "$0"; then i=0; while [ "$i" -lt 600 ] && test -e "$1" && kill -0 "$p" 2>/dev/null; do sleep 0.1; i=$((i + 1)); done; test -e "$1" || exit 0; fi; shift; exec "$@"';
    return {exitCommand: ['/bin/sh', '-c', script, claimFile, exitFile, ...cleanup]};
  }
  return {exitCommand: ['/bin/sh', '-c', 'test -e "$0" && exec "$@"', exitFile, ...cleanup], exitDelaySeconds: 1};
}

/** The file through which a stop or rm claims a container's cleanup from conmon's exit command. */
export function cleanupClaimFile(bundle: string): string {
  return path.join(bundle, 'cleanup-claim');
}

/**
 * --sdnotify under a systemd unit of Type=notify ($NOTIFY_SOCKET set), as
 * podman: `container` relays the container's own messages through conmon
 * and names conmon the main pid; `conmon` names conmon the main pid and
 * says READY as soon as the container runs; `ignore` leaves the socket alone.
 */
export function sdNotifyPlan(mode: string, socket: string | undefined): {socket?: string; relay: boolean; ready: boolean} {
  if (!socket || mode === 'ignore') return {relay: false, ready: false};
  return {socket, relay: mode === 'container', ready: mode === 'conmon'};
}

function sendSdNotify(socket: string, message: string): void {
  try {
    unixDgramSend(socket, Buffer.from(message));
  } catch (err) {
    log.warn(`sd_notify to ${socket}: ${messageOf(err)}`);
  }
}

export interface StartOptions {
  /** Attach these streams before the process runs. */
  attach?: AttachStreams;
  /** Called once conmon holds the created container, just before it starts (e.g. to size its terminal). */
  beforeStart?: (started: MonitorStarted) => void;
}

const asSkiff = (err: unknown) => (err instanceof SkiffError ? err : new SkiffError('internal', messageOf(err), {cause: err}));

export class ContainerService extends ContainerReader {
  readonly volumes: VolumeService;
  readonly networks: NetworkService;
  private readonly monitor: Monitor;

  constructor(
    paths: Paths,
    private readonly images: ImageService,
    opts: {monitor?: Monitor} = {},
  ) {
    super(paths, new ContainerStore(paths));
    this.volumes = new VolumeService(paths, (name) => containersUsingVolume(this.store.list(), name));
    this.networks = new NetworkService(paths, (name) => this.store.list().filter((r) => r.config.network.networks?.[name] !== undefined).map((r) => r.config.id));
    this.monitor = opts.monitor ?? conmonMonitor;
  }

  /**
   * The runtime named in the record (name or path); runc by default (crun
   * cannot run on every hybrid cgroup layout). For 'run' (create, start) it
   * must be able to make containers here; for anything else (kill, delete of
   * what exists) being installed is enough.
   */
  runtime(name: string, purpose: 'run' | 'manage' = 'manage'): OciRuntime {
    const p = findBinary(name);
    if (!p) throw invalidInput(`OCI runtime "${name}" not found: install it or pass --runtime PATH`);
    const refusal = purpose === 'run' && path.basename(p) === 'crun' ? crunRefusal() : undefined;
    if (refusal) throw invalidInput(`${refusal}: use --runtime runc`);
    return new RuncRuntime({path: p, stateDir: this.paths.runtimeStateDir});
  }

  /**
   * A teardown's forced delete in the runtime: a runtime that is gone or fails is logged and never stops the teardown.
   * False when the runtime holds no state of the container: then nothing is asked of it, nor is it looked for on
   * PATH (~0.4 ms of an rm).
   */
  private async runtimeDelete(rec: ContainerRecord): Promise<boolean> {
    if (!hasRuntimeState(this.paths.runtimeStateDir, rec.config.id)) return false;
    try {
      await this.runtime(rec.config.runtime).delete(rec.config.id, true);
    } catch (err) {
      log.debug(`runtime delete ${rec.config.id}: ${messageOf(err)}`);
    }
    return true;
  }

  static defaultRuntime(): string {
    if (process.env.SKIFF_RUNTIME) return process.env.SKIFF_RUNTIME;
    return !findBinary('runc') && findBinary('crun') && !crunRefusal() ? 'crun' : 'runc';
  }

  // --- reading -------------------------------------------------------------------

  // --- create ------------------------------------------------------------------------

  async create(config: ContainerConfig, opts: {replace?: boolean; generateName?: (taken: (name: string) => boolean) => string} = {}): Promise<ContainerRecord> {
    if (config.cidFile && fs.existsSync(config.cidFile)) {
      throw invalidInput(`container id file exists. Ensure another container is not using it or delete ${config.cidFile}`);
    }
    // A runtime that is missing or cannot make containers here fails the create, before anything is written.
    const rt = this.runtime(config.runtime, 'run');
    // runc always makes cgroups; only crun can run a container without them (podman's rule and words).
    if (config.cgroups === 'disabled' && path.basename(rt.path) !== 'crun') throw invalidInput(`requested OCI runtime ${rt.name} is not compatible with NoCgroups: invalid argument`);
    await this.checkNetworks(config);
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
        // --userns=auto: a range no other container uses, picked under the containers lock.
        assign:
          config.userns === 'auto'
            ? (existing) => {
                config.idMappings = autoMappings(config.autoUsernsSize ?? AUTO_DEFAULT_SIZE, existing.map((r) => r.config.idMappings));
              }
            : undefined,
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
    await containerEvent(this.paths, config, 'create');
    return {config, state: initialState()};
  }

  // --- start ---------------------------------------------------------------------------

  /**
   * Start a created or exited container. With `attach`, the attach socket is
   * connected before the process runs so no output is lost; the session is
   * returned for the caller to wait on.
   */
  async start(input: string, opts: StartOptions = {}): Promise<{record: ContainerRecord; session?: AttachSession}> {
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
      if (state.status === 'initialized') return await this.startInitialized(rec, opts);
      if (state.status !== rec.state.status) await this.finishExit(rec, state); // stale "running": clean up first
      return await this.startLocked(rec.config, opts);
    } finally {
      lock.release();
    }
  }

  /**
   * `init`: create the container in the runtime (conmon and runc's init
   * process wait on the exec fifo) without running the user process; the
   * status becomes "initialized" and a later start only runs `runtime start`.
   */
  async init(input: string): Promise<ContainerRecord> {
    const rec0 = this.store.resolve(input);
    const lock = await this.store.lockContainer(rec0.config.id);
    try {
      const rec = this.store.read(rec0.config.id);
      if (!rec) throw notFound(`no container with name or ID "${input}" found: no such container`);
      const state = this.observed(rec);
      if (state.status === 'initialized') return {...rec, state};
      if (state.status !== 'created' && state.status !== 'exited' && state.status !== 'stopped') {
        throw conflict(`container ${rec.config.id} has already been created in runtime: container state improper`);
      }
      if (state.status !== rec.state.status) await this.finishExit(rec, state);
      return (await this.startLocked(rec.config, {}, 'init')).record;
    } finally {
      lock.release();
    }
  }

  /** Under the container lock: run the process of an initialized container. */
  private async startInitialized(rec: ContainerRecord, opts: StartOptions): Promise<{record: ContainerRecord; session?: AttachSession}> {
    const p = containerPaths(this.paths, rec.config.id);
    const session = opts.attach ? openAttach(attachSocketPath(p.bundle), opts.attach) : undefined;
    try {
      opts.beforeStart?.({pid: rec.state.pid, conmonPid: rec.state.conmonPid, attachSocket: attachSocketPath(p.bundle), ctlPath: ctlPath(p.bundle), ociLog: ''});
      await this.runtime(rec.config.runtime).start(rec.config.id);
    } catch (err) {
      session?.detach();
      throw asSkiff(err);
    }
    const state: ContainerState = {...rec.state, status: transition('initialized', 'started', rec.config.name), startedAt: new Date().toISOString(), finishedAt: ''};
    this.store.writeState(rec.config.id, state);
    await containerEvent(this.paths, rec.config, 'start');
    return {record: {config: rec.config, state}, session};
  }

  private async startLocked(config: ContainerConfig, opts: StartOptions, mode: 'start' | 'init' = 'start'): Promise<{record: ContainerRecord; session?: AttachSession}> {
    let fresh = this.store.read(config.id)!;
    transition(fresh.state.status, 'start', config.name);
    if (fresh.state.mounted) {
      // An earlier start was killed midway: its mount, conmon or process may remain.
      await this.finishExit(fresh, fresh.state);
      fresh = this.store.read(config.id)!;
    }
    // Record the intent first: if this process dies from here on, the next
    // invocation knows a mount (and maybe a conmon) may exist and cleans up.
    // Not fsynced: after a power loss there is no mount to clean up.
    this.store.writeState(config.id, {...fresh.state, mounted: true}, {durable: false});
    const image = this.images.list().find((i) => i.id === config.image);
    if (!image) throw notFound(`image ${config.image.slice(0, 12)} of container ${config.name} is no longer in the store`);
    const imageConfig = this.images.config(image);
    const layerDirs = image.layers.map((l) => this.images.layers.diffPath(l));
    const p = containerPaths(this.paths, config.id);
    const runtime = this.runtime(config.runtime, 'run');
    const notify = sdNotifyPlan(config.sdnotify, process.env.NOTIFY_SOCKET);
    let session: AttachSession | undefined;
    let net: Awaited<ReturnType<ContainerService['setupNetwork']>> = undefined;
    try {
      // A container with a user namespace of its own gets its network namespace from the runtime
      // (made inside that user namespace, so exec can join both); skiff configures it between
      // create and start, as podman does. The /etc files are rewritten in place then. Otherwise
      // the netns and the CNI ADDs run alongside the mounts and `runc create`.
      const late = configuresNetnsAfterCreate(config);
      if (!late) net = await this.setupNetwork(config);
      await prepare(this.paths, {config, image: imageConfig, layerDirs, volumes: this.volumes, net: late ? {ownIps: [], dns: []} : net, sdNotify: notify.relay});
      await net?.netns;
      phase('prepared');
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
        ...exitCommand([...self, '--root', this.paths.root, '--runroot', this.paths.runroot, 'container', 'cleanup', config.id], path.join(p.exitDir, config.id), Boolean(opts.attach), cleanupClaimFile(p.bundle)),
        containerPidFile: config.pidFile,
        conmonPidFile: config.conmonPidFile,
        sdNotifySocket: notify.relay ? notify.socket : undefined,
      });
      phase('monitor-started');
      if (late) {
        net = (await this.setupNetwork(config, started.pid))!;
        await net.ready;
        // The addresses are in the state once the ADDs are done (slirp4netns/pasta: in the result).
        const attached = Object.values(this.store.read(config.id)!.state.net?.networks ?? {});
        const ownIps = net.ownIps.length ? net.ownIps : attached.map((a) => a.ip).filter(Boolean);
        rewriteNetworkEtcFiles(p.userdata, {hostname: config.hostname, name: config.name, network: config.network.mode, addHosts: config.addHosts, dns: config.dns, dnsSearch: config.dnsSearch, dnsOptions: config.dnsOptions, ownIps, networkDns: net.dns, leadingDns: net.leadingDns, hostGatewayIp: net.gateway ?? attached[0]?.gateway});
      } else if (net?.ready) {
        // The CNI ADDs ran alongside the mounts and `runc create`; the process has not run yet.
        await net.ready;
        this.refreshHosts(config, this.store.read(config.id)!.state.net!);
      }
      if (opts.attach) session = openAttach(started.attachSocket, opts.attach);
      await containerEvent(this.paths, config, 'init');
      if (mode === 'init') {
        // Re-read: setupNetwork recorded the network state (netns, leases) since `fresh`.
        const state: ContainerState = {...this.store.read(config.id)!.state, status: transition('created', 'init', config.name), pid: started.pid, conmonPid: started.conmonPid, exitCode: 0, finishedAt: '', oomKilled: false, error: '', bootId: bootId(), mounted: true, stoppedByUser: false};
        this.store.writeState(config.id, state);
        return {record: {config, state}, session};
      }
      opts.beforeStart?.(started);
      await runtime.start(config.id);
      phase('runtime-started');
      const state: ContainerState = {
        ...this.store.read(config.id)!.state,
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
      if (notify.socket) sendSdNotify(notify.socket, notify.ready ? `MAINPID=${started.conmonPid}\nREADY=1` : `MAINPID=${started.conmonPid}`);
      await containerEvent(this.paths, config, 'start');
      return {record: {config, state}, session};
    } catch (err) {
      session?.detach();
      // A network setup still running must finish (and be recorded) before it is torn down.
      await net?.ready?.catch(() => undefined);
      await runtime.delete(config.id, true).catch(() => undefined);
      unprepare(this.paths, config.id);
      await this.teardownNetwork(config.id);
      const e = asSkiff(err);
      this.store.writeState(config.id, {...fresh.state, net: undefined, status: 'exited', exitCode: e.kind === 'command-not-found' ? 127 : e.kind === 'cannot-invoke' ? 126 : 125, error: e.message, finishedAt: new Date().toISOString(), pid: 0, conmonPid: 0, mounted: false});
      throw e;
    }
  }

  // --- attach ----------------------------------------------------------------------

  /**
   * Connects to a running container's attach socket (conmon serves any
   * number of clients at once; its log is written regardless). Returns the
   * session and the ctl fifo that resizes the container's terminal.
   */
  attach(input: string, streams: AttachStreams): {record: ContainerRecord; session: AttachSession; ctlPath: string} {
    const rec = this.get(input);
    if (rec.state.status !== 'running') throw conflict('you can only attach to running containers');
    const p = containerPaths(this.paths, rec.config.id);
    let session: AttachSession;
    try {
      session = openAttach(attachSocketPath(p.bundle), streams);
    } catch (err) {
      if (err instanceof SkiffError && err.kind === 'not-found') throw conflict('you can only attach to running containers');
      throw err;
    }
    return {record: rec, session, ctlPath: ctlPath(p.bundle)};
  }

  // --- exec ------------------------------------------------------------------------

  /**
   * Runs a process in a running container (exec.ts builds it, conmon-exec.ts
   * runs it). Resolves once it runs, with its session and exit status; the
   * session directory goes when the caller calls `done()` (or with the bundle).
   */
  async exec(input: string, req: ExecRequest, io: {attach?: AttachStreams; beforeStart?: (ctlPath: string) => void} = {}): Promise<ExecStarted & {execId: string; done(): void}> {
    const rec = this.get(input);
    if (rec.state.status !== 'running') throw conflict(`can only create exec sessions on running containers: container ${rec.config.name} is ${rec.state.status}: container state improper`);
    const p = containerPaths(this.paths, rec.config.id);
    let spec: OciSpec;
    try {
      spec = JSON.parse(fs.readFileSync(path.join(p.bundle, 'config.json'), 'utf8')) as OciSpec;
    } catch (err) {
      throw conflict(`container ${rec.config.name} has no runtime configuration (${messageOf(err)}): is it running?`);
    }
    if (!spec.process) throw new SkiffError('internal', `container ${rec.config.name}: config.json has no process`);
    // keep-id's /etc/passwd and /etc/group copies (prepare.ts) are what the container sees.
    const inRootfs = rootfsReader(p.rootfs);
    const read = (file: string) => ((file === '/etc/passwd' || file === '/etc/group') && fs.existsSync(path.join(p.userdata, file.slice(5))) ? fs.readFileSync(path.join(p.userdata, file.slice(5)), 'utf8') : inRootfs(file));
    const proc = execProcess(spec.process, rec.config, req, read);
    const conmon = findBinary('conmon');
    if (!conmon) throw invalidInput('conmon not found: install it (Debian package conmon)');
    const execId = randomBytes(32).toString('hex');
    const sessionDir = path.join(p.bundle, 'exec', execId);
    fs.mkdirSync(sessionDir, {recursive: true, mode: 0o700});
    const done = () => removeAll(sessionDir);
    try {
      const started = await startExec({
        conmonPath: conmon,
        runtime: this.runtime(rec.config.runtime),
        containerId: rec.config.id,
        execId,
        sessionDir,
        process: proc,
        terminal: req.tty,
        stdin: req.interactive,
        preserveFds: req.preserveFds,
        attach: req.detach ? undefined : io.attach,
        beforeStart: io.beforeStart,
      });
      return {...started, execId, done};
    } catch (err) {
      done();
      throw err;
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
    let removed: string[] | undefined;
    const lock = await this.store.lockContainer(rec0.config.id);
    try {
      const rec = this.store.read(rec0.config.id);
      if (!rec) return;
      const state = this.observed(rec);
      if (LIVE.has(state.status)) return; // not exited yet
      if (LIVE.has(rec.state.status) || rec.state.mounted) {
        const r = rec.config.restart;
        const failed = state.exitCode !== 0;
        restart =
          !rec.state.stoppedByUser &&
          (r.name === 'always' || r.name === 'unless-stopped' || (r.name === 'on-failure' && failed && (r.maxRetries === 0 || rec.state.restartCount < r.maxRetries)));
        removeAfter = rec.config.autoRemove && !this.otherWaiter(rec.state);
        if (removeAfter && !restart) {
          // --rm: one teardown straight to removal, under the lock already held.
          removed = await this.removeLocked(rec);
          phase('removed');
          return;
        }
        await this.finishExit(rec, state);
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
      if (removed?.length) await this.removeVolumes(removed);
    }
    if (removeAfter && !restart && !removed) {
      // The foreground run and conmon's exit command may both get here; one removes.
      await this.removeOne(rec0.config.id, {force: true, volumes: true}).catch((err) => {
        if (!(err instanceof SkiffError && err.kind === 'not-found')) throw err;
      });
    }
  }

  /** Under the container lock: the process is gone; record it and release what it held. */
  private async finishExit(rec: ContainerRecord, observed: ContainerState): Promise<void> {
    const write = (st: ContainerState, durable?: boolean) => this.store.writeState(rec.config.id, st, {durable});
    const p = containerPaths(this.paths, rec.config.id);
    const code = readExitFile(p.exitDir, rec.config.id) ?? observed.exitCode;
    const oom = readOomFile(p.bundle);
    const wasStarted = rec.state.status !== 'created' && rec.state.status !== 'initialized';
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
    // Durable unless the record is about to go (--rm): a power loss before
    // the removal leaves a 'running' record of another boot, read as exited.
    write(final, !rec.config.autoRemove);
    if (LIVE.has(rec.state.status)) await containerEvent(this.paths, rec.config, 'died', {exitCode: code});
    await this.runtimeDelete(rec);
    removeCgroup(containerCgroupPath(rec.config.id, rec.config.cgroupParent));
    unprepare(this.paths, rec.config.id);
    await this.teardownNetwork(rec.config.id);
    removeFile(path.join(p.exitDir, rec.config.id));
    // Not fsynced: lost, it only makes the next reader unmount again (harmless).
    write({...this.store.read(rec.config.id)!.state, mounted: false}, false);
  }

  // --- stop / kill --------------------------------------------------------------------

  async kill(input: string, signal: string): Promise<ContainerRecord> {
    const rec = this.get(input);
    if (rec.state.status !== 'running' && rec.state.status !== 'paused' && rec.state.status !== 'stopping') {
      throw conflict(`can only kill running containers. ${rec.config.id} is in state ${rec.state.status}: container state improper`);
    }
    const num = signalNumber(signal);
    if (num === undefined) throw invalidInput(`invalid signal: ${signal}`);
    const runtime = this.runtime(rec.config.runtime);
    await runtime.kill(rec.config.id, signal);
    // A frozen process cannot act on SIGKILL (cgroup v1 freezer): thaw it so it dies, as podman does.
    if (rec.state.status === 'paused' && num === 9) await runtime.resume(rec.config.id).catch((err) => log.debug(`resume after kill: ${messageOf(err)}`));
    await containerEvent(this.paths, rec.config, 'kill', {attributes: {signal: String(num)}});
    return rec;
  }

  /** Signal, wait up to `timeout` seconds, then SIGKILL; finally clean up. */
  async stop(input: string, opts: {timeout?: number; cleanup?: boolean} = {}): Promise<ContainerRecord> {
    const rec0 = this.store.resolve(input);
    const id = rec0.config.id;
    let signal = rec0.config.stopSignal;
    const timeout = opts.timeout ?? rec0.config.stopTimeout;
    const lock = await this.store.lockContainer(id);
    let running = false;
    let runtime: OciRuntime | undefined;
    const claim = cleanupClaimFile(containerPaths(this.paths, id).bundle);
    try {
      const rec = this.store.read(id)!;
      const st = this.observed(rec);
      running = LIVE.has(st.status);
      if (running) {
        this.store.writeState(id, {...rec.state, status: transition(rec.state.status, 'stop', rec.config.name), stoppedByUser: true, busyPid: process.pid});
        // This process cleans up after the exit: conmon's exit command need not start skiff
        // (if this process dies first, the record reads as exited and the next command finishes it).
        try {
          fs.writeFileSync(claim, `${process.pid}\n`);
        } catch (err) {
          log.debug(`cleanup claim: ${messageOf(err)}`);
        }
        runtime = this.runtime(rec.config.runtime);
        if (st.status === 'paused') await runtime.resume(id).catch(() => undefined);
        signal = rec.config.stopSignal;
        if (st.status === 'initialized') {
          // Nothing runs yet: removing the runtime container ends runc's init and conmon.
          await runtime.delete(id, true).catch((err) => log.debug(`delete initialized: ${messageOf(err)}`));
        } else if (timeout > 0) await runtime.kill(id, signal).catch((err) => log.debug(`kill ${signal}: ${messageOf(err)}`));
        await containerEvent(this.paths, rec.config, 'stop');
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
    // rm -f tears down and removes in one pass itself (removeLocked; the claim goes with the bundle).
    if (opts.cleanup === false) return rec0;
    try {
      await this.cleanup(id);
    } finally {
      removeFile(claim);
    }
    return this.find(id) ?? rec0;
  }

  // --- remove ---------------------------------------------------------------------------

  async remove(inputs: string[], opts: {force?: boolean; volumes?: boolean; ignore?: boolean; timeout?: number}): Promise<Report[]> {
    const reports: Report[] = [];
    for (const raw of inputs) {
      try {
        const rec = this.store.resolve(raw);
        await this.removeOne(rec.config.id, {force: opts.force, volumes: opts.volumes, timeout: opts.timeout}, rec);
        reports.push({id: rec.config.id, rawInput: raw});
      } catch (err) {
        const e = asSkiff(err);
        if (opts.ignore && e.kind === 'not-found') continue;
        reports.push({id: '', rawInput: raw, error: e});
      }
    }
    return reports;
  }

  /** rec0: the record as just read (resolved), if the caller has it; it is read again under the lock. */
  private async removeOne(id: string, opts: {force?: boolean; volumes?: boolean; underNamesLock?: boolean; timeout?: number}, rec0 = this.store.read(id)): Promise<void> {
    if (!rec0) throw notFound(`no container with ID "${id}" found: no such container`);
    const st0 = this.observed(rec0);
    if (LIVE.has(st0.status)) {
      if (!opts.force && st0.status !== 'initialized') transition(st0.status, 'remove', rec0.config.name);
      await this.stop(id, {timeout: opts.timeout ?? 0, cleanup: false});
    }
    const lock = await this.store.lockContainer(id);
    let anonymous: string[] = [];
    try {
      const rec = this.store.read(id);
      if (!rec) return;
      anonymous = await this.removeLocked(rec);
    } finally {
      lock.release();
    }
    if (opts.volumes) await this.removeVolumes(anonymous);
  }

  /**
   * Under the container lock: remove a container whose process is gone (a
   * conflict if it runs again), with the teardown of an exit that was not
   * recorded yet, in one pass. Returns its anonymous volumes (removed by the
   * caller once the lock is released, as the volume locks come after it).
   */
  private async removeLocked(rec: ContainerRecord): Promise<string[]> {
    const id = rec.config.id;
    const st = this.observed(rec);
    if (st.status === 'running' || st.status === 'paused' || st.status === 'initialized') throw conflict(`container ${rec.config.name} is running again; cannot remove it: container state improper`);
    const p = containerPaths(this.paths, id);
    const exited = LIVE.has(rec.state.status);
    const code = exited ? (readExitFile(p.exitDir, id) ?? st.exitCode) : rec.state.exitCode;
    // The marker first: a removal killed from here on is finished by the next
    // rm (settle). Not fsynced: lost, the record reads as exited and rm runs again.
    // A settled container (its exit cleaned up: nothing mounted, no network) needs none:
    // every step before the record goes is a no-op that rm simply runs again (~1 ms).
    const settled = !exited && !rec.state.mounted && !rec.state.net;
    const marker: ContainerState = exited
      ? {...rec.state, status: 'removing', exitCode: code, pid: 0, conmonPid: 0, finishedAt: new Date().toISOString(), busyPid: process.pid}
      : {...rec.state, status: 'removing', busyPid: process.pid};
    try {
      if (!settled) this.store.writeState(id, marker, {durable: false});
    } catch (err) {
      // On a full disk the marker cannot be written, but removing is how space comes back:
      // go on (a removal killed from here on leaves an exited container that rm removes again).
      if (!(err instanceof SkiffError && err.kind === 'storage')) throw err;
      log.debug(`removing ${id}: ${err.message}`);
    }
    if (exited) await containerEvent(this.paths, rec.config, 'died', {exitCode: code});
    await this.releaseAndRemoveRecord(rec, {networkErrors: 'throw', settled});
    await containerEvent(this.paths, rec.config, 'remove');
    return rec.config.mounts.filter((m) => m.type === 'volume' && m.anonymous).map((m) => (m as {name: string}).name);
  }

  /**
   * The second half of a removal, after its `removing` marker: runtime state,
   * cgroups, mounts, network, exit file, cidfile, then the record with its
   * bundle. removeLocked, and settle() finishing a removal that was killed
   * midway (which warns about a network it cannot tear down, so the record
   * still goes).
   */
  private async releaseAndRemoveRecord(rec: ContainerRecord, opts: {networkErrors: 'throw' | 'warn'; settled?: boolean}): Promise<void> {
    const id = rec.config.id;
    // Only the runtime makes a container's cgroups, and finishExit removed them before it recorded the
    // container settled: with no runtime state left either, there are none (~0.6 ms of an rm).
    if ((await this.runtimeDelete(rec)) || !opts.settled) removeCgroup(containerCgroupPath(id, rec.config.cgroupParent));
    // The bundle's files go with the record's run directory below.
    unprepare(this.paths, id, {force: true, keepFiles: true});
    if (opts.networkErrors === 'throw') await this.teardownNetwork(id);
    else await this.teardownNetwork(id).catch((err) => log.warn(`network teardown of ${id.slice(0, 12)}: ${messageOf(err)}`));
    removeFile(path.join(containerPaths(this.paths, id).exitDir, id));
    if (rec.config.cidFile) removeFile(rec.config.cidFile);
    this.store.removeRecord(id);
  }

  private async removeVolumes(names: string[]): Promise<void> {
    if (names.length) await this.volumes.remove(names, {force: true}).catch((err) => log.warn(`removing anonymous volumes: ${messageOf(err)}`));
  }

  // --- networks ------------------------------------------------------------------------

  /** At create: every named network exists (the default one is made on first use), a joined container exists. */
  private async checkNetworks(config: ContainerConfig): Promise<void> {
    const n = config.network;
    if (n.mode === 'bridge') {
      const resolved: typeof n.networks = {};
      for (const [name, req] of Object.entries(n.networks ?? {})) resolved[(await this.networks.resolve(name)).name] = req;
      n.networks = resolved;
    } else if (n.mode === 'container') {
      const other = this.store.find(n.container!);
      if (!other) throw notFound(`no container with name or ID "${n.container}" found: no such container`);
      n.container = other.config.id;
    } else if (n.mode === 'ns' && !fs.existsSync(n.path!)) {
      throw invalidInput(`network namespace path ${n.path} does not exist`);
    }
  }

  /**
   * Under the container lock, before the runtime creates the container:
   * the namespace to join. For bridge networks: a new netns under
   * runroot/netns, recorded in the state first (so a crash from here on is
   * torn down by the next cleanup), then CNI ADD on each network. For
   * bridge networks the namespace and the ADDs run in child processes
   * while the caller mounts the rootfs and runs `runc create`: `netns`
   * settles once the namespace exists (before the runtime joins it),
   * `ready` once every ADD is done and recorded (before the process
   * starts; /etc/hosts gets the addresses then). Both are handled:
   * their rejection surfaces where they are awaited.
   */
  private async setupNetwork(config: ContainerConfig, createdPid?: number): Promise<{netnsPath?: string; ownIps: string[]; dns: string[]; leadingDns?: string[]; gateway?: string; netns?: Promise<void>; ready?: Promise<void>} | undefined> {
    const n = config.network;
    if (n.mode === 'none' || n.mode === 'host') return undefined;
    if (n.mode === 'ns') return {netnsPath: n.path, ownIps: [], dns: []};
    if (n.mode === 'container') {
      const other = this.find(n.container!);
      if (!other || other.state.status !== 'running') throw conflict(`cannot join the network namespace of container ${n.container?.slice(0, 12)}: it is not running`);
      return {netnsPath: other.state.net?.netns ?? `/proc/${other.state.pid}/ns/net`, ownIps: [], dns: []};
    }
    const file = path.join(netnsDir(this.paths.runroot), config.id);
    const ports = await resolveHostPorts(config.ports ?? []);
    const net: ContainerNetState = {netns: file, networks: {}, ports};
    this.store.writeState(config.id, {...this.store.read(config.id)!.state, net});
    // createdPid: the runtime made the namespace (inside the container's user namespace, lo up);
    // keep it on the file. Else skiff makes it.
    const bind = (): void => bindNetns(`/proc/${createdPid}/ns/net`, file);
    if (n.mode === 'slirp4netns' || n.mode === 'pasta') {
      // slirp4netns --configure and pasta --config-net bring lo up themselves.
      if (createdPid) bind();
      else createNetns(file, {loUp: false});
      return n.mode === 'slirp4netns' ? this.setupSlirp(config, net) : this.setupPasta(config, net);
    }
    const names = Object.keys(n.networks ?? {}).sort();
    const recs: NetworkRecord[] = [];
    for (const name of names) recs.push(await this.networks.resolve(name));
    const netns = createdPid ? new Promise<void>((resolve) => resolve(bind())) : createNetnsAsync(file);
    const ready = netns.then(async () => {
      for (const [i, rec] of recs.entries()) {
        const name = names[i];
        const ifname = `eth${i}`;
        const beforeAdd = (conflist: unknown) => {
          net.pending = {...net.pending, [name]: {ifname, conflist}};
          this.store.writeState(config.id, {...this.store.read(config.id)!.state, net});
        };
        net.networks[name] = await this.networks.attach(rec, {id: config.id, name: config.name, netns: file, ifname, request: n.networks![name], ports, beforeAdd});
        delete net.pending![name];
        this.store.writeState(config.id, {...this.store.read(config.id)!.state, net});
      }
    });
    netns.catch(() => undefined);
    ready.catch(() => undefined);
    // The gateways come from the records (the ADD results repeat them); the addresses are known after the ADDs.
    const dns = recs.filter((r) => r.dns_enabled).map((r) => r.subnets[0]?.gateway).filter((g): g is string => !!g);
    return {netnsPath: file, ownIps: [], dns: [...new Set(dns)], gateway: recs[0]?.subnets[0]?.gateway, netns, ready};
  }

  /**
   * --network slirp4netns, on the netns just made and recorded: the planned
   * process is recorded before it is spawned and its pid right after, so a
   * crash at any point leaves a record the teardown stops it from; then the
   * published ports go through its API.
   */
  private async setupSlirp(config: ContainerConfig, net: ContainerNetState): Promise<{netnsPath: string; ownIps: string[]; dns: string[]; leadingDns: string[]; gateway?: string}> {
    const opts = config.network.slirp ?? defaultSlirpOptions();
    const record = () => this.store.writeState(config.id, {...this.store.read(config.id)!.state, net});
    net.slirp = plannedSlirp(this.paths.runroot, config.id, opts);
    record();
    net.slirp = await startSlirp(net.slirp, net.netns, opts, (pid) => {
      net.slirp = {...net.slirp!, pid};
      record();
    });
    await addPorts(net.slirp, net.ports);
    const s = net.slirp;
    return {netnsPath: net.netns, ownIps: [s.ip], dns: [], leadingDns: [s.dns], gateway: s.allowHostLoopback ? s.gateway : hostPrimaryIp()};
  }

  /** --network pasta: recorded before it runs (its pid file names it if the CLI dies before the pid is recorded); ports are its -t/-u arguments. */
  private async setupPasta(config: ContainerConfig, net: ContainerNetState): Promise<{netnsPath: string; ownIps: string[]; dns: string[]}> {
    net.pasta = plannedPasta(this.paths.runroot, config.id);
    this.store.writeState(config.id, {...this.store.read(config.id)!.state, net});
    net.pasta = await startPasta(net.pasta, net.netns, config.network.pasta ?? [], net.ports);
    this.store.writeState(config.id, {...this.store.read(config.id)!.state, net});
    const ip = pastaAddress();
    return {netnsPath: net.netns, ownIps: ip ? [ip] : [], dns: []};
  }

  /** CNI DEL on every network the state records, then the netns (idempotent; the state forgets them as it goes). */
  private async teardownNetwork(id: string): Promise<void> {
    const rec = this.store.read(id);
    const net = rec?.state.net;
    if (!rec) return;
    if (!net) {
      // Nothing recorded, but a kill between an ADD and its record can still have left a lease
      // (only bridge networks have them: host-local IPAM).
      if (rec.config.network.mode === 'bridge') for (const l of await this.networks.releaseLeases(id)) log.debug(`released lease ${l} left by an interrupted network operation`);
      return;
    }
    // An ADD a crash interrupted: DEL without a result (bridge, host-local and portmap work from the container ID and interface).
    const pending = Object.entries(net.pending ?? {}).map(([name, p]): [string, NetworkAttachment] => [name, {interface: p.ifname, ip: '', prefixLen: 0, gateway: '', mac: '', aliases: [], result: undefined, conflist: p.conflist}]);
    // A namespace that dies with its mount goes first; the DELs then only release the addresses.
    const dropped = await this.networks.dropNamespace(net).catch((err) => {
      log.debug(`${id}: ${messageOf(err)}`);
      return false;
    });
    for (const [name, att] of [...Object.entries(net.networks), ...pending]) {
      try {
        await this.networks.detach(name, {id, netns: dropped ? '' : net.netns, att, ports: net.ports});
      } catch (err) {
        log.warn(`network ${name}: ${messageOf(err)}`);
      }
    }
    if (net.slirp) await stopSlirp(net.slirp);
    if (net.pasta) await stopPasta(net.pasta);
    removeNetns(net.netns);
    for (const l of await this.networks.releaseLeases(id)) log.debug(`released lease ${l} left by an interrupted network operation`);
    try {
      this.store.writeState(id, {...this.store.read(id)!.state, net: undefined});
    } catch (err) {
      // A full disk: teardown is how a removal frees space, so go on; a
      // later teardown finds the namespace gone and only repeats the DELs.
      if (!(err instanceof SkiffError && err.kind === 'storage')) throw err;
      log.debug(`${id}: ${err.message}`);
    }
  }

  /** network connect: add a network to the container's config and, if it runs, CNI ADD it into its namespace. */
  async connect(input: string, network: string, req: import('../network/types').NetworkRequest): Promise<void> {
    const netRec = await this.networks.resolve(network);
    const id = this.store.resolve(input).config.id;
    await this.store.withContainerLock(id, async () => {
      const rec = this.store.read(id)!;
      const c = rec.config;
      if (c.network.mode !== 'bridge') throw invalidInput(`container ${c.name} uses --network ${c.network.mode}: it cannot join a network`);
      if (c.network.networks?.[netRec.name]) throw conflict(`container ${c.id.slice(0, 12)} is already connected to network "${netRec.name}"`);
      const st = this.observed(rec);
      if ((st.status === 'running' || st.status === 'paused') && rec.state.net) {
        const net = rec.state.net;
        const used = new Set([...Object.values(net.networks).map((a) => a.interface), ...Object.values(net.pending ?? {}).map((p) => p.ifname)]);
        let i = 0;
        while (used.has(`eth${i}`)) i++;
        // Recorded as pending before CNI ADD: a connect killed mid-ADD is undone by the next teardown (DEL without a result).
        const beforeAdd = (conflist: unknown) => {
          net.pending = {...net.pending, [netRec.name]: {ifname: `eth${i}`, conflist}};
          this.store.writeState(id, {...rec.state, net});
        };
        const att = await this.networks.attach(netRec, {id, name: c.name, netns: net.netns, ifname: `eth${i}`, request: req, ports: [], beforeAdd});
        net.networks[netRec.name] = att;
        delete net.pending?.[netRec.name];
        this.store.writeState(id, {...rec.state, net});
        this.refreshHosts(c, net);
      }
      this.store.writeConfig({...c, network: {...c.network, networks: {...c.network.networks, [netRec.name]: req}}});
    });
  }

  /** network disconnect: CNI DEL from the running container, and the network leaves its config. */
  async disconnect(input: string, network: string): Promise<void> {
    const id = this.store.resolve(input).config.id;
    await this.store.withContainerLock(id, async () => {
      const rec = this.store.read(id)!;
      const c = rec.config;
      const name = this.networks.find(network)?.name ?? network;
      if (!c.network.networks?.[name]) throw notFound(`container ${c.id.slice(0, 12)} is not connected to network ${network}`);
      const net = rec.state.net;
      const att = net?.networks[name];
      if (net && att) {
        await this.networks.detach(name, {id, netns: net.netns, att, ports: net.ports});
        delete net.networks[name];
        this.store.writeState(id, {...rec.state, net});
        this.refreshHosts(c, net);
      }
      const rest = {...c.network.networks};
      delete rest[name];
      this.store.writeConfig({...c, network: {...c.network, networks: rest}});
    });
  }

  /** Rewrite a running container's /etc/hosts in place (the runtime bind-mounted that inode). */
  private refreshHosts(c: ContainerConfig, net: ContainerNetState): void {
    const p = containerPaths(this.paths, c.id);
    const ownIps = Object.values(net.networks).map((a) => a.ip).filter(Boolean);
    const gateway = Object.values(net.networks)[0]?.gateway;
    const hosts = containerHosts({hostname: c.hostname, name: c.name, network: c.network.mode, addHosts: c.addHosts, ownIps, hostGatewayIp: gateway});
    fs.writeFileSync(path.join(p.userdata, 'hosts'), hosts);
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
          await Promise.resolve()
            .then(() => this.runtime(rec.config.runtime).kill(id, 'KILL', true))
            .catch(() => undefined);
          await waitForExit(containerPaths(this.paths, id).exitDir, id, {timeoutMs: 10_000});
        }
        // A removal killed midway (maybe before its CNI DEL: the veth, port rules and leases go with the record).
        await this.releaseAndRemoveRecord(rec, {networkErrors: 'warn'});
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
    const rec = this.store.find(name);
    if (rec) await containerEvent(this.paths, rec.config, 'rename');
  }

  /** stop, then start; one "restart" event as podman. */
  async restart(input: string, opts: {timeout?: number} = {}): Promise<ContainerRecord> {
    const rec = await this.stop(input, opts);
    const {record} = await this.start(rec.config.id);
    await containerEvent(this.paths, record.config, 'restart');
    return record;
  }

  // --- pause / unpause / update ----------------------------------------------------------

  /** runc pause: the cgroup freezer (v1 freezer.state or v2 cgroup.freeze) stops every process. */
  async pause(input: string): Promise<ContainerRecord> {
    return this.freeze(input, true);
  }

  async unpause(input: string): Promise<ContainerRecord> {
    return this.freeze(input, false);
  }

  private async freeze(input: string, pause: boolean): Promise<ContainerRecord> {
    const id = this.store.resolve(input).config.id;
    const lock = await this.store.lockContainer(id);
    try {
      const rec = this.store.read(id);
      if (!rec) throw notFound(`no container with name or ID "${input}" found: no such container`);
      const st = this.observed(rec);
      if (pause && st.status !== 'running') throw conflict(`"${rec.config.id}" is not running, can't pause: container state improper`);
      if (!pause && st.status !== 'paused') throw conflict(`"${rec.config.id}" is not paused, can't unpause: container state improper`);
      const runtime = this.runtime(rec.config.runtime);
      if (pause) await runtime.pause(id);
      else await runtime.resume(id);
      const state: ContainerState = {...rec.state, status: transition(st.status, pause ? 'pause' : 'unpause', rec.config.name)};
      this.store.writeState(id, state);
      await containerEvent(this.paths, rec.config, pause ? 'pause' : 'unpause');
      return {config: rec.config, state};
    } finally {
      lock.release();
    }
  }

  /**
   * Change resource limits: recorded in the container's config (so the next
   * start uses them) and, when the container is live, applied now with
   * `runtime update -r -`.
   */
  async update(input: string, changes: ResourceLimits): Promise<ContainerRecord> {
    const id = this.store.resolve(input).config.id;
    if (!rootlessCgroups()) throw invalidInput('resource limits cannot be changed: rootless containers have no cgroups on this host (cgroups v1, or v2 without delegation)');
    const delegated = isRootless() ? delegation() : undefined;
    const missing = delegated ? applicableLimits(changes, delegated.controllers).missing : [];
    if (missing.length) throw invalidInput(`resource limits cannot be changed: the delegated cgroup ${delegated!.path} does not offer the ${missing.join(', ')} controller${missing.length > 1 ? 's' : ''}`);
    const lock = await this.store.lockContainer(id);
    try {
      const rec = this.store.read(id);
      if (!rec) throw notFound(`no container with name or ID "${input}" found: no such container`);
      const resources: ResourceLimits = {...rec.config.resources, ...changes};
      if (changes.cpuQuota !== undefined || changes.cpuPeriod !== undefined) delete resources.cpus;
      if (changes.cpus !== undefined) {
        delete resources.cpuQuota;
        delete resources.cpuPeriod;
      }
      if (changes.memory !== undefined && changes.memorySwap === undefined && changes.memory > 0) resources.memorySwap = 2 * changes.memory;
      if (resources.memorySwap !== undefined && resources.memorySwap > 0 && resources.memory !== undefined && resources.memorySwap < resources.memory) {
        throw invalidInput('memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time');
      }
      const st = this.observed(rec);
      if (LIVE.has(st.status)) {
        const {devices: _devices, ...oci} = buildResources(delegated ? applicableLimits(resources, delegated.controllers).apply : resources, []);
        if (resources.pidsLimit !== undefined && resources.pidsLimit <= 0) oci.pids = {limit: -1}; // "max"
        await this.runtime(rec.config.runtime).update(id, oci);
      }
      const config = {...rec.config, resources};
      this.store.writeConfig(config);
      await containerEvent(this.paths, config, 'update');
      return {config, state: st};
    } finally {
      lock.release();
    }
  }

  /** Containers that use the given image ID. */
  usingImage(imageId: string): string[] {
    return this.store.list().filter((r) => r.config.image === imageId).map((r) => r.config.id);
  }
}
