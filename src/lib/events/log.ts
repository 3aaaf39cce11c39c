/**
 * The durable event log: root/events/events.log, one JSON object per line
 * (podman's file events backend). Appends happen under the `events` lock,
 * the last lock in the order, so a service may emit while it holds any
 * other lock. When the file would grow past MAX_BYTES it is renamed to
 * events.log.1 (replacing the previous one) and a new file begins; readers
 * read events.log.1 then events.log, and a follower that sees the file
 * replaced finishes the old one before it opens the new one.
 *
 * Emitting never fails the operation that caused it: an event that cannot
 * be written is reported at debug level and dropped.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type {Paths} from '../state/paths';
import {withLock} from '../state/lock';
import {log} from '../util/log';
import {messageOf} from '../util/errors';
import type {EventInput, SkiffEvent} from './types';
import {nowNs, rfc3339Nano} from './time';

export const MAX_BYTES = 1024 * 1024;

export function eventsFile(paths: Paths): string {
  return paths.eventsLog;
}

/** Drop empty fields, as Go's omitempty does, keeping podman's key order. */
function clean(e: SkiffEvent): SkiffEvent {
  const out: Record<string, unknown> = {};
  for (const k of ['ContainerExitCode', 'ID', 'Image', 'Name', 'Network', 'Status', 'Time', 'Type', 'Attributes'] as const) {
    const v = e[k];
    if (v === undefined || v === '') continue;
    if (k === 'Attributes' && Object.keys(v as object).length === 0) continue;
    out[k] = v;
  }
  return out as unknown as SkiffEvent;
}

/** In-process queue: the lock is not re-entrant, so this process's appends go one at a time. */
let queue: Promise<void> = Promise.resolve();

/** Append one event; never throws. */
export function emitEvent(paths: Paths, input: EventInput, opts: {maxBytes?: number} = {}): Promise<void> {
  const next = queue.then(() => append(paths, input, opts));
  queue = next;
  return next;
}

async function append(paths: Paths, input: EventInput, opts: {maxBytes?: number}): Promise<void> {
  try {
    const line = JSON.stringify(clean({...input, Time: rfc3339Nano(nowNs())})) + '\n';
    const file = eventsFile(paths);
    await withLock(paths, 'events', () => {
      fs.mkdirSync(path.dirname(file), {recursive: true, mode: 0o700});
      let size = 0;
      try {
        size = fs.statSync(file).size;
      } catch {
        /* first event */
      }
      if (size > 0 && size + line.length > (opts.maxBytes ?? MAX_BYTES)) fs.renameSync(file, file + '.1');
      fs.appendFileSync(file, line, {mode: 0o600});
    });
  } catch (err) {
    log.debug(`event ${input.Type} ${input.Status} not recorded: ${messageOf(err)}`);
  }
}

export function parseLine(line: string): SkiffEvent | undefined {
  if (!line.trim()) return undefined;
  try {
    const e = JSON.parse(line) as SkiffEvent;
    return typeof e.Time === 'string' && typeof e.Status === 'string' ? e : undefined;
  } catch {
    return undefined; // a torn line (a writer killed midway) is skipped
  }
}

function readLines(file: string): SkiffEvent[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  return text.split('\n').map(parseLine).filter((e): e is SkiffEvent => e !== undefined);
}

/** Every stored event, oldest first. */
export function readEvents(paths: Paths): SkiffEvent[] {
  const file = eventsFile(paths);
  return [...readLines(file + '.1'), ...readLines(file)];
}

/**
 * Follow the log: `existing` holds every event stored when following began
 * (oldest first); onEvent then receives each event appended later, found by
 * polling every `intervalMs`. stop() delivers what is left and closes.
 */
export function followEvents(paths: Paths, onEvent: (e: SkiffEvent) => void, opts: {intervalMs?: number} = {}): {existing: SkiffEvent[]; stop: () => void} {
  const file = eventsFile(paths);
  let fd: number | undefined;
  let ino = -1;
  let offset = 0;
  let partial = '';
  const buf = Buffer.alloc(64 * 1024);

  const open = (): boolean => {
    try {
      fd = fs.openSync(file, 'r');
      ino = fs.fstatSync(fd).ino;
      offset = 0;
      partial = '';
      return true;
    } catch {
      fd = undefined;
      return false;
    }
  };

  /** Complete lines of fd past offset, delivered or returned. */
  const drain = (deliver: boolean): SkiffEvent[] => {
    const out: SkiffEvent[] = [];
    if (fd === undefined) return out;
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, offset);
      if (n <= 0) break;
      offset += n;
      partial += buf.toString('utf8', 0, n);
      const lines = partial.split('\n');
      partial = lines.pop() ?? '';
      for (const l of lines) {
        const e = parseLine(l);
        if (!e) continue;
        if (deliver) onEvent(e);
        else out.push(e);
      }
    }
    return out;
  };

  const tick = () => {
    if (fd === undefined) {
      if (open()) drain(true);
      return;
    }
    drain(true);
    let cur = -1;
    try {
      cur = fs.statSync(file).ino;
    } catch {
      /* between the rename and the first append to the new file */
    }
    if (cur !== -1 && cur !== ino) {
      drain(true); // the rest of the rotated file
      fs.closeSync(fd);
      if (open()) drain(true);
    }
  };

  const rotated = readLines(file + '.1');
  open();
  const existing = [...rotated, ...drain(false)];
  const timer = setInterval(tick, opts.intervalMs ?? 100);
  return {
    existing,
    stop: () => {
      clearInterval(timer);
      if (fd === undefined) return;
      try {
        drain(true);
      } finally {
        fs.closeSync(fd);
        fd = undefined;
      }
    },
  };
}
