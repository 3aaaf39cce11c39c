/**
 * Reading a container's k8s-file log (written by conmon, format in
 * monitor/log-line.ts) the way `podman logs` does:
 *
 *  - partial lines (P) are joined with the F line that completes them, per stream;
 *  - `tail` N keeps the last N whole lines, then `since` / `until` filter
 *    (a line is shown when since < time < until, podman's order and bounds);
 *  - following reads what is appended until the caller's `stop` promise
 *    settles (the container exited), then drains the rest and ends. A log
 *    rotated by conmon (--log-size-max: a new file renamed over the old) is
 *    followed into the new file.
 *
 * Lines that are not in the format are skipped (logged at debug level).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {SkiffError} from '../util/errors';
import {log} from '../util/log';
import {dateNs, LineJoiner, logTimeNs, parseLogLine, type LogEntry} from './monitor/log-line';

export type {LogEntry, LogStream} from './monitor/log-line';
export {formatLogEntry, formatLogTime, parseLogLine} from './monitor/log-line';

export interface LogReadOptions {
  /** Only lines strictly after this time. */
  since?: Date;
  /** Only lines strictly before this time. */
  until?: Date;
  /** Only the last N lines (before since/until apply); undefined or negative for all. */
  tail?: number;
}

export interface LogFollowOptions extends LogReadOptions {
  /** Following ends once this settles and everything written up to then is read. */
  stop: Promise<unknown>;
  /** Fallback poll interval for filesystems without inotify (default 250 ms). */
  pollMs?: number;
  signal?: AbortSignal;
}

const CHUNK = 64 * 1024;

/** The log's entries as they are now. A missing file yields nothing (no output yet, or log driver none). */
export async function* readLogs(file: string, opts: LogReadOptions = {}): AsyncGenerator<LogEntry> {
  let fh: fs.promises.FileHandle;
  try {
    fh = await fs.promises.open(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw logError(file, err);
  }
  try {
    const size = (await fh.stat()).size;
    const start = await startOffset(fh, size, opts.tail);
    const filter = timeFilter(opts);
    const joiner = new LineJoiner();
    const reader = new LineReader(fh, start);
    for (;;) {
      const lines = await reader.next(size);
      if (lines === undefined) break;
      for (const e of entries(lines, joiner)) if (filter(e)) yield e;
    }
    for (const e of joiner.flush()) if (filter(e)) yield e;
  } finally {
    await fh.close();
  }
}

/** readLogs, then every entry appended until `stop` settles (see the module comment). */
export async function* followLogs(file: string, opts: LogFollowOptions): AsyncGenerator<LogEntry> {
  let stopped = false;
  const stopP = opts.stop.then(
    () => {
      stopped = true;
    },
    () => {
      stopped = true;
    },
  );
  const filter = timeFilter(opts);
  const untilNs = opts.until ? dateNs(opts.until) : undefined;
  const joiner = new LineJoiner();
  const waiter = new ChangeWaiter(file, opts.pollMs ?? 250);
  const wake = () => Promise.race([waiter.wait(), stopP, ...(opts.signal ? [aborted(opts.signal)] : [])]);
  let fh: fs.promises.FileHandle | undefined;
  try {
    let first = true;
    files: for (;;) {
      if (opts.signal?.aborted) return;
      fh = await openIfExists(file);
      if (!fh) {
        if (stopped) break files;
        await wake();
        continue;
      }
      const st = await fh.stat();
      const reader = new LineReader(fh, first ? await startOffset(fh, st.size, opts.tail) : 0);
      first = false;
      // Read this file as it grows, until it is replaced (rotation) or, after the stop, to its end.
      for (;;) {
        const wasStopped = stopped; // one more pass after the stop catches the last writes
        const cur = await fh.stat();
        if (cur.size < reader.offset) reader.restart(0); // truncated in place
        for (let lines; (lines = await reader.next(cur.size)) !== undefined; ) {
          for (const e of entries(lines, joiner)) if (filter(e)) yield e;
        }
        if (wasStopped) break files;
        if (untilNs !== undefined && dateNs(new Date()) >= untilNs) break files;
        const onDisk = await statIfExists(file);
        if (onDisk && (onDisk.ino !== cur.ino || onDisk.dev !== cur.dev)) {
          // Rotated: drain the old file, then go on with the new one from its start.
          const rest = await fh.stat();
          for (let lines; (lines = await reader.next(rest.size)) !== undefined; ) {
            for (const e of entries(lines, joiner)) if (filter(e)) yield e;
          }
          await fh.close();
          fh = undefined;
          continue files;
        }
        await wake();
        if (opts.signal?.aborted) return;
      }
    }
  } finally {
    waiter.close();
    await fh?.close();
  }
  // Parts never completed: the container's last output had no newline.
  for (const e of joiner.flush()) if (filter(e)) yield e;
}

function* entries(lines: string[], joiner: LineJoiner): Generator<LogEntry> {
  for (const l of lines) {
    const raw = parseLogLine(l);
    if (!raw) {
      if (l) log.debug(`logs: skipping a line not in k8s-file format: ${l.slice(0, 80)}`);
      continue;
    }
    const e = joiner.push(raw);
    if (e) yield e;
  }
}

function timeFilter(opts: LogReadOptions): (e: LogEntry) => boolean {
  const since = opts.since ? dateNs(opts.since) : undefined;
  const until = opts.until ? dateNs(opts.until) : undefined;
  if (since === undefined && until === undefined) return () => true;
  return (e) => {
    let t: bigint;
    try {
      t = logTimeNs(e.time);
    } catch {
      return false;
    }
    return (since === undefined || t > since) && (until === undefined || t < until);
  };
}

/** Reads newline-terminated lines from an offset; a trailing unterminated piece waits for more data. */
class LineReader {
  private carry: Buffer = Buffer.alloc(0);
  private pos: number;
  private readonly buf = Buffer.allocUnsafe(CHUNK);

  constructor(
    private readonly fh: fs.promises.FileHandle,
    start: number,
  ) {
    this.pos = start;
  }

  /** Where the next unread (complete) line starts. */
  get offset(): number {
    return this.pos - this.carry.length;
  }

  restart(at: number): void {
    this.pos = at;
    this.carry = Buffer.alloc(0);
  }

  /** The next batch of complete lines below `limit`, or undefined when there are none left. */
  async next(limit: number): Promise<string[] | undefined> {
    while (this.pos < limit) {
      const {bytesRead} = await this.fh.read(this.buf, 0, Math.min(CHUNK, limit - this.pos), this.pos);
      if (bytesRead === 0) return undefined;
      this.pos += bytesRead;
      // Split on the byte, decode whole lines only: a UTF-8 character may straddle two reads.
      const data = this.carry.length ? Buffer.concat([this.carry, this.buf.subarray(0, bytesRead)]) : this.buf.subarray(0, bytesRead);
      const nl = data.lastIndexOf(10);
      if (nl < 0) {
        this.carry = Buffer.from(data);
        continue;
      }
      this.carry = Buffer.from(data.subarray(nl + 1));
      return data.toString('utf8', 0, nl).split('\n');
    }
    return undefined;
  }
}

/**
 * The offset where the last `tail` whole lines start: scanning backwards,
 * the (tail+1)-th F line from the end is the boundary. tail 0 starts at the end.
 */
async function startOffset(fh: fs.promises.FileHandle, size: number, tail: number | undefined): Promise<number> {
  if (tail === undefined || tail < 0) return 0;
  if (tail === 0) return size;
  let pos = size;
  let buf = Buffer.alloc(0); // bytes [pos, pos + buf.length) not yet counted
  let count = 0;
  for (;;) {
    let idx = buf.length; // end (exclusive) of the line being looked at, relative to pos
    for (;;) {
      const from = idx - 2;
      const nl = from < 0 ? -1 : buf.lastIndexOf(10, from);
      if (nl < 0) break;
      if (isFullLine(buf.subarray(nl + 1, idx)) && ++count === tail + 1) return pos + idx;
      idx = nl + 1;
    }
    buf = buf.subarray(0, idx);
    if (pos === 0) {
      if (idx > 0 && isFullLine(buf) && ++count === tail + 1) return idx;
      return 0;
    }
    const len = Math.min(CHUNK, pos);
    pos -= len;
    const chunk = Buffer.allocUnsafe(len);
    const {bytesRead} = await fh.read(chunk, 0, len, pos);
    buf = Buffer.concat([chunk.subarray(0, bytesRead), buf]);
  }
}

/** "TIME STREAM F ..." (a line's last part); older untagged lines count as whole. */
function isFullLine(line: Buffer): boolean {
  const a = line.indexOf(32);
  const b = a < 0 ? -1 : line.indexOf(32, a + 1);
  if (b < 0) return false;
  const tag = line[b + 1];
  const after = line[b + 2];
  const tagged = (tag === 0x46 || tag === 0x50) && (after === undefined || after === 32 || after === 10);
  return !tagged || tag === 0x46;
}

async function openIfExists(file: string): Promise<fs.promises.FileHandle | undefined> {
  try {
    return await fs.promises.open(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw logError(file, err);
  }
}

async function statIfExists(file: string): Promise<fs.Stats | undefined> {
  try {
    return await fs.promises.stat(file);
  } catch {
    return undefined;
  }
}

function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => (signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), {once: true})));
}

function logError(file: string, err: unknown): SkiffError {
  return new SkiffError('internal', `reading log file ${file}: ${(err as Error).message}`, {cause: err});
}

/** Wakes on a change in the log's directory (inotify), or after the poll interval. */
class ChangeWaiter {
  private watcher: fs.FSWatcher | undefined;
  private wake: (() => void) | undefined;

  constructor(
    private readonly file: string,
    private readonly pollMs: number,
  ) {
    try {
      this.watcher = fs.watch(path.dirname(file), {persistent: false}, (_e, name) => {
        if (name === null || name === path.basename(this.file)) this.wake?.();
      });
      this.watcher.on('error', () => this.close());
    } catch {
      this.watcher = undefined;
    }
  }

  wait(): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, this.pollMs);
      const self = this;
      function done() {
        clearTimeout(t);
        if (self.wake === done) self.wake = undefined;
        resolve();
      }
      this.wake = done;
    });
  }

  close(): void {
    this.watcher?.close();
    this.watcher = undefined;
  }
}
