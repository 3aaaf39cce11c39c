/**
 * Reading a container's log from the systemd journal (--log-driver
 * journald), where conmon writes each line as an entry with
 * CONTAINER_ID_FULL, CONTAINER_NAME, PRIORITY (3 for stderr, 6 for stdout)
 * and CONTAINER_PARTIAL_MESSAGE=true on a line it had to split. The journal
 * has no library for Node; journalctl's JSON output is its stable interface
 * (podman without sd-journal bindings does the same).
 *
 * Entries come out as the k8s-file reader's LogEntry, so `logs` formats both
 * alike; partial entries are joined with the entry that completes them.
 * Following runs `journalctl --follow` until `stop` settles, then reads once
 * more after the last cursor, so nothing written before the exit is lost.
 */
import {spawn} from 'node:child_process';
import {createInterface} from 'node:readline';
import {SkiffError} from '../util/errors';
import {findBinary} from './host';
import type {LogEntry} from './monitor/log-line';

export interface JournalReadOptions {
  since?: Date;
  until?: Date;
  tail?: number;
}

interface JournalRecord {
  __CURSOR?: string;
  __REALTIME_TIMESTAMP?: string;
  MESSAGE?: string | number[] | null;
  PRIORITY?: string;
  CONTAINER_PARTIAL_MESSAGE?: string;
}

/** RFC 3339 with nanoseconds, from the journal's microseconds since the epoch. */
export function journalTime(usec: string): string {
  const us = BigInt(usec);
  const d = new Date(Number(us / 1000n));
  const frac = (us % 1_000_000n).toString().padStart(6, '0') + '000';
  return d.toISOString().replace(/\.\d{3}Z$/, `.${frac}Z`);
}

function messageText(m: JournalRecord['MESSAGE']): string {
  if (m == null) return '';
  if (Array.isArray(m)) return Buffer.from(m).toString('utf8'); // non-UTF-8 or binary: journalctl gives bytes
  return m;
}

/** Joins partial entries per stream; pure, for the reader and tests. */
export class JournalJoiner {
  private pending = new Map<LogEntry['stream'], {line: string; time: string}>();

  push(r: JournalRecord): LogEntry | undefined {
    const stream = r.PRIORITY === '3' ? 'stderr' : 'stdout';
    const line = (this.pending.get(stream)?.line ?? '') + messageText(r.MESSAGE);
    const time = journalTime(r.__REALTIME_TIMESTAMP ?? '0');
    if (r.CONTAINER_PARTIAL_MESSAGE === 'true') {
      this.pending.set(stream, {line, time});
      return undefined;
    }
    this.pending.delete(stream);
    return {time, stream, line, partial: false};
  }

  /** What is left unterminated (the container's last write without a newline), with its own time. */
  flush(): LogEntry[] {
    const out = [...this.pending].map(([stream, p]) => ({time: p.time, stream, line: p.line, partial: true}));
    this.pending.clear();
    return out;
  }
}

function journalctl(): string {
  const bin = findBinary('journalctl');
  if (!bin) throw new SkiffError('unsupported', 'reading journald logs needs journalctl (Debian package systemd)');
  return bin;
}

const stamp = (d: Date) => `@${(d.getTime() / 1000).toFixed(6)}`;

function baseArgs(id: string, o: JournalReadOptions): string[] {
  const a = ['--no-pager', '--quiet', '-o', 'json', '--output-fields=MESSAGE,PRIORITY,CONTAINER_PARTIAL_MESSAGE', `CONTAINER_ID_FULL=${id}`];
  if (o.since) a.push('--since', stamp(o.since));
  if (o.until) a.push('--until', stamp(o.until));
  return a;
}

async function* records(args: string[], stop?: Promise<unknown>): AsyncGenerator<JournalRecord> {
  const child = spawn(journalctl(), args, {stdio: ['ignore', 'pipe', 'pipe']});
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const closed = new Promise<number | null>((r) => child.on('close', r));
  child.on('error', (err) => (stderr += err.message)); // reported with the exit status below
  if (stop) void stop.finally(() => child.kill('SIGTERM'));
  const lines = createInterface({input: child.stdout, crlfDelay: Infinity});
  try {
    for await (const l of lines) {
      if (!l.trim()) continue;
      try {
        yield JSON.parse(l) as JournalRecord;
      } catch {
        /* a line that is not JSON: skip it */
      }
    }
  } finally {
    child.kill('SIGTERM');
  }
  const code = await closed;
  if (code && code !== 0 && !stop && !/No journal files were found/.test(stderr)) {
    throw new SkiffError('internal', `journalctl: ${stderr.trim().split('\n').pop() || `exit ${code}`}`);
  }
}

/** The container's journal entries as they are now. */
export async function* readJournal(id: string, o: JournalReadOptions = {}): AsyncGenerator<LogEntry> {
  const args = baseArgs(id, o);
  if (o.tail !== undefined && o.tail >= 0) args.push('-n', String(o.tail));
  const joiner = new JournalJoiner();
  for await (const r of records(args)) {
    const e = joiner.push(r);
    if (e) yield e;
  }
  yield* joiner.flush();
}

/** readJournal, then new entries until `stop` settles, then whatever came after the last one read. */
export async function* followJournal(id: string, o: JournalReadOptions & {stop: Promise<unknown>}): AsyncGenerator<LogEntry> {
  const args = [...baseArgs(id, o), '--follow'];
  if (o.tail !== undefined && o.tail >= 0) args.push('-n', String(o.tail));
  else args.push('--no-tail');
  const joiner = new JournalJoiner();
  let cursor: string | undefined;
  const settled = o.stop.then(
    () => new Promise((r) => setTimeout(r, 100)), // let journald take conmon's last writes
    () => undefined,
  );
  for await (const r of records(args, settled)) {
    cursor = r.__CURSOR ?? cursor;
    const e = joiner.push(r);
    if (e) yield e;
  }
  const rest = baseArgs(id, o);
  if (cursor) rest.push(`--after-cursor=${cursor}`);
  for await (const r of records(rest)) {
    const e = joiner.push(r);
    if (e) yield e;
  }
  yield* joiner.flush();
}
