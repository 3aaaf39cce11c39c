/**
 * Container records on disk: root/containers/<id>/config.json (what was
 * asked, fixed at create but for the name) and state.json (what happened),
 * each replaced atomically. Names are unique across the store: they are
 * checked and taken under the store-wide `containers` lock.
 *
 * A record directory without config.json is a create that was killed
 * midway; listing skips it and sweep() removes it.
 */
import * as fs from 'node:fs';
import type {Paths} from '../state/paths';
import {ensureDir, readJsonIfExists, syncPaths, writeJsonAtomic} from '../state/atomic';
import {deleteOnRelease, withLock, lockFile, type Lock} from '../state/lock';
import {conflict, invalidInput, notFound, SkiffError} from '../util/errors';
import type {ContainerConfig, ContainerState, ContainerStatus} from './types';
import {removeAll, removeFile} from '../state/remove-tree';

export interface ContainerRecord {
  config: ContainerConfig;
  state: ContainerState;
}

const DURABLE = new Set<ContainerStatus>(['created', 'exited', 'stopped']);

/** The state of a record whose state.json was torn by a power loss (see read()). */
function lostState(): ContainerState {
  return {status: 'exited', pid: 0, conmonPid: 0, exitCode: -1, startedAt: '', finishedAt: '', oomKilled: false, error: 'state lost in a system crash', restartCount: 0, bootId: '', mounted: false, stoppedByUser: false};
}

const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

export function validateName(name: string): void {
  if (!NAME_RE.test(name)) throw invalidInput(`names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*: invalid argument "${name}"`);
}

export class ContainerStore {
  constructor(private readonly paths: Paths) {}

  // A container's paths by concatenation (see under()): ids are 64 hex here.
  dir(id: string): string {
    return `${this.paths.containersDir}/${id}`;
  }

  configFile(id: string): string {
    return `${this.dir(id)}/config.json`;
  }

  stateFile(id: string): string {
    return `${this.dir(id)}/state.json`;
  }

  /** Runtime (volatile) directory: bundle, pidfiles, attach socket. */
  runDir(id: string): string {
    return `${this.paths.runContainersDir}/${id}`;
  }

  ids(): string[] {
    try {
      return fs.readdirSync(this.paths.containersDir).filter((n) => /^[0-9a-f]{64}$/.test(n));
    } catch {
      return [];
    }
  }

  read(id: string): ContainerRecord | undefined {
    let config: ContainerConfig | undefined;
    try {
      config = readJsonIfExists<ContainerConfig>(this.configFile(id));
    } catch (err) {
      if (!(err instanceof SyntaxError)) throw err;
      // Torn by a power loss (a --rm container's record is not fsynced): it
      // was never a usable record; `system check --repair` removes the rest.
      return undefined;
    }
    if (!config) return undefined;
    let state: ContainerState | undefined;
    try {
      state = readJsonIfExists<ContainerState>(this.stateFile(id));
    } catch (err) {
      if (!(err instanceof SyntaxError)) throw err;
      // Only a power loss right after a transient (not fsynced) state write
      // can leave state.json torn: the machine has rebooted, so nothing of
      // the container runs. Keep the record, with the state it must have.
      state = lostState();
    }
    if (!state) return undefined;
    return {config, state};
  }

  list(): ContainerRecord[] {
    const out: ContainerRecord[] = [];
    for (const id of this.ids()) {
      try {
        const r = this.read(id);
        if (r) out.push(r);
      } catch {
        /* a record being replaced: skip (it reappears on the next read) */
      }
    }
    return out;
  }

  /** Resolve a full ID, a name or a unique ID prefix, in podman's order. */
  resolve(input: string): ContainerRecord {
    const hex = input.replace(/^sha256:/, '');
    if (/^[0-9a-f]{64}$/.test(hex)) {
      // A full ID is read directly: no listing of every record.
      try {
        const r = this.read(hex);
        if (r) return r;
      } catch {
        /* being replaced: the listing below decides */
      }
    }
    const all = this.list();
    const byName = all.find((r) => r.config.name === input);
    if (byName) return byName;
    if (/^[0-9a-f]+$/.test(hex)) {
      const hits = all.filter((r) => r.config.id.startsWith(hex));
      if (hits.length === 1) return hits[0];
      if (hits.length > 1) throw conflict(`more than one result for container ID prefix "${input}"`);
    }
    throw notFound(`no container with name or ID "${input}" found: no such container`);
  }

  find(input: string): ContainerRecord | undefined {
    try {
      return this.resolve(input);
    } catch (err) {
      if (err instanceof SkiffError && err.kind === 'not-found') return undefined;
      throw err;
    }
  }

  /**
   * Create the record. The name is checked and the config written under
   * the `containers` lock, so two creates can never take one name.
   */
  async create(
    config: ContainerConfig,
    state: ContainerState,
    opts: {replace?: (existingId: string) => Promise<void>; generateName?: (taken: (name: string) => boolean) => string; assign?: (existing: ContainerRecord[]) => void} = {},
  ): Promise<void> {
    if (!opts.generateName) validateName(config.name);
    // The `containers` lock serialises every create (names must be unique), so it is held only
    // to read the names and rename the record into place; the fsyncs that make the record
    // durable come after it is released (~3 ms each, far more on a busy disk): 20 parallel
    // creates no longer queue behind each other's disk flushes.
    await withLock(this.paths, 'containers', async () => {
      const existing = this.list();
      if (opts.generateName) {
        // Generated names are picked under the lock, so parallel creates never collide.
        const names = new Set(existing.map((r) => r.config.name));
        config.name = opts.generateName((n) => names.has(n));
      }
      const clash = existing.find((r) => r.config.name === config.name);
      if (clash) {
        if (!opts.replace) {
          throw conflict(`the container name "${config.name}" is already in use by ${clash.config.id}. You have to remove that container to be able to reuse that name: that name is already in use`);
        }
        await opts.replace(clash.config.id);
      }
      // Whatever must be unique among containers besides the name (--userns=auto's id ranges).
      opts.assign?.(existing);
      ensureDir(this.dir(config.id));
      try {
        writeJsonAtomic(this.stateFile(config.id), state, {fsync: false});
        writeJsonAtomic(this.configFile(config.id), config, {fsync: false}); // last: its presence makes the record visible
      } catch (err) {
        // A failed create (a full disk) leaves nothing behind, not an incomplete record.
        removeAll(this.dir(config.id));
        throw err;
      }
    });
    // A --rm container's record is gone when it exits: it need not survive a power loss.
    // Torn by one anyway, config.json reads as no record and system check removes the rest.
    if (!config.autoRemove) syncPaths(this.stateFile(config.id), this.configFile(config.id), this.dir(config.id));
  }

  /**
   * Replace state.json. Settled states (created, exited, stopped) are
   * fsynced: they must survive a power loss. Transient ones (running,
   * paused, stopping, removing, the mounted flag) are not: after a power
   * loss the boot id differs and reconciliation rewrites them anyway, and
   * the rename still makes them atomic against a killed process. Each
   * fsync costs ~3 ms here; a `run --rm` writes state six times. A caller
   * may say otherwise (`durable`) when the write is redundant on disk.
   */
  writeState(id: string, state: ContainerState, opts: {durable?: boolean} = {}): void {
    writeJsonAtomic(this.stateFile(id), state, {fsync: opts.durable ?? DURABLE.has(state.status)});
  }

  writeConfig(config: ContainerConfig): void {
    writeJsonAtomic(this.configFile(config.id), config);
  }

  async rename(input: string, newName: string): Promise<void> {
    validateName(newName);
    await withLock(this.paths, 'containers', async () => {
      const rec = this.resolve(input);
      if (this.list().some((r) => r.config.name === newName)) throw conflict(`the container name "${newName}" is already in use`);
      await this.withContainerLock(rec.config.id, () => {
        const fresh = this.read(rec.config.id);
        if (!fresh) throw notFound(`no container with name or ID "${input}" found: no such container`);
        this.writeConfig({...fresh.config, name: newName});
      });
    });
  }

  /** Delete the record (after the caller has cleaned up mounts and processes). */
  removeRecord(id: string): void {
    const dir = this.dir(id);
    // config.json first: the record stops being visible before its files go.
    removeFile(this.configFile(id));
    removeAll(dir);
    removeAll(this.runDir(id));
    // Its lock file goes with it when the caller, which holds the container's lock, lets go.
    deleteOnRelease(this.paths.lockFile(`container-${id}`));
  }

  async withContainerLock<T>(id: string, fn: () => Promise<T> | T): Promise<T> {
    return withLock(this.paths, `container-${id}`, fn, {timeoutMs: 120_000});
  }

  async lockContainer(id: string): Promise<Lock> {
    return lockFile(this.paths.lockFile(`container-${id}`), {timeoutMs: 120_000});
  }

  /** Record directories of creates that were killed before config.json was written. */
  incomplete(): string[] {
    return this.ids().filter((id) => !fs.existsSync(this.configFile(id)));
  }
}
