/**
 * The read side of the container records: list, get and find, each with
 * the state as it really is now (an exit file or a dead monitor means
 * exited), without writing or locking. Kept apart from ContainerService so
 * that `ps`, `inspect` and friends load only this and the store, not the
 * runtime, network and mount code (start-up cost, docs/design.md).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type {Paths} from '../state/paths';
import type {ContainerRecord, ContainerStore} from './store';
import type {ContainerState} from './types';
import {bootId, processAlive} from './boot';
import {containerPaths} from './paths';
import {readExitFile} from '../runtime/exit-file';

/** Statuses in which a container has a live monitor and runtime state. */
export const LIVE: ReadonlySet<string> = new Set(['initialized', 'running', 'paused', 'stopping']);

export class ContainerReader {
  constructor(
    protected readonly paths: Paths,
    readonly store: ContainerStore,
  ) {}

  /** State as it really is now, without writing: an exit file or a dead monitor means exited. */
  observed(rec: ContainerRecord): ContainerState {
    const s = rec.state;
    // A removal whose process was killed midway: the container no longer runs; rm (or check --repair) finishes it.
    if (s.status === 'removing' && this.abandoned(s)) return {...s, status: 'exited', pid: 0, conmonPid: 0};
    if (!LIVE.has(s.status)) return s;
    const settled = this.observedLive(rec);
    // A stop whose process was killed before the container exited: it still runs.
    if (settled === s && s.status === 'stopping' && this.abandoned(s)) return {...s, status: 'running'};
    return settled;
  }

  /** A live foreground process other than this one waits for the exit code (and removes --rm containers itself). */
  protected otherWaiter(s: ContainerState): boolean {
    return !!s.waiterPid && s.waiterPid !== process.pid && processAlive(s.waiterPid);
  }

  /** The process that set a transitional status is gone (and it is not us). */
  protected abandoned(s: ContainerState): boolean {
    return !!s.busyPid && s.busyPid !== process.pid && !processAlive(s.busyPid);
  }

  protected observedLive(rec: ContainerRecord): ContainerState {
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
}
