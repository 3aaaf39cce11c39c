/**
 * One line of conmon's k8s-file log (the CRI logging format):
 *
 *   2024-05-01T10:20:30.123456789+02:00 stdout F hello
 *   2024-05-01T10:20:30.123456789+02:00 stderr P a long line's first part
 *
 * RFC 3339 timestamp with nanoseconds in conmon's local zone, the stream, F
 * for a line that ended with a newline or P for a part (the rest follows in
 * later P/F lines of the same stream), then the bytes as written. conmon
 * splits output at newlines and at its 8 KiB read size, so a long line
 * arrives as P... F.
 */

export type LogStream = 'stdout' | 'stderr';

export interface RawLogLine {
  time: string;
  stream: LogStream;
  partial: boolean;
  text: string;
}

/** A whole line of output, partial parts joined, as `podman logs` shows it. */
export interface LogEntry {
  /** The timestamp as conmon wrote it (of the line's last part). */
  time: string;
  stream: LogStream;
  /** Without the newline. */
  line: string;
  /** The output ended without a newline (the container's last write, or a part still being written). */
  partial: boolean;
}

const TIME = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/;

/** Parses one log line (without its newline); undefined for a line that is not in the format. */
export function parseLogLine(s: string): RawLogLine | undefined {
  const a = s.indexOf(' ');
  if (a < 0) return undefined;
  const b = s.indexOf(' ', a + 1);
  const time = s.slice(0, a);
  const stream = b < 0 ? s.slice(a + 1) : s.slice(a + 1, b);
  if (!TIME.test(time) || (stream !== 'stdout' && stream !== 'stderr')) return undefined;
  if (b < 0) return {time, stream, partial: false, text: ''};
  const rest = s.slice(b + 1);
  // The tag is one letter followed by a space (or the end, for an empty line).
  if ((rest[0] === 'F' || rest[0] === 'P') && (rest.length === 1 || rest[1] === ' ')) {
    return {time, stream, partial: rest[0] === 'P', text: rest.slice(2)};
  }
  // The older format had no tag.
  return {time, stream, partial: false, text: rest};
}

/** Nanoseconds since the epoch of a log timestamp (exact, unlike Date). */
export function logTimeNs(time: string): bigint {
  const m = TIME.exec(time);
  if (!m) throw new RangeError(`not an RFC 3339 timestamp: ${time}`);
  const [, y, mo, d, h, mi, s, frac = '', zone] = m;
  let secs = Date.UTC(+y, +mo - 1, +d, +h, +mi, +s) / 1000;
  if (zone !== 'Z') {
    const sign = zone[0] === '-' ? -1 : 1;
    secs -= sign * (Number(zone.slice(1, 3)) * 3600 + Number(zone.slice(4, 6)) * 60);
  }
  return BigInt(secs) * 1_000_000_000n + BigInt(frac.padEnd(9, '0'));
}

export function dateNs(d: Date): bigint {
  return BigInt(d.getTime()) * 1_000_000n;
}

/**
 * The timestamp as `podman logs -t` prints it: Go's RFC3339Nano layout of the
 * parsed time, i.e. trailing zeros of the fraction dropped (and the dot when
 * nothing is left) and "Z" for a zero offset, otherwise as written.
 */
export function formatLogTime(time: string): string {
  const m = TIME.exec(time);
  if (!m) return time;
  const [, y, mo, d, h, mi, s, frac = '', zone] = m;
  const f = frac.replace(/0+$/, '');
  const z = zone === 'Z' || zone === '+00:00' || zone === '-00:00' ? 'Z' : zone;
  return `${y}-${mo}-${d}T${h}:${mi}:${s}${f ? `.${f}` : ''}${z}`;
}

/** One entry as podman prints it (without the newline): "TIME line" with timestamps, else the line. */
export function formatLogEntry(e: LogEntry, opts: {timestamps?: boolean} = {}): string {
  return opts.timestamps ? `${formatLogTime(e.time)} ${e.line}` : e.line;
}

/** Joins P parts with the F line that completes them, per stream. */
export class LineJoiner {
  private readonly parts: Record<LogStream, string[]> = {stdout: [], stderr: []};

  /** The completed entry, or undefined while the line is still partial. */
  push(raw: RawLogLine): LogEntry | undefined {
    const held = this.parts[raw.stream];
    if (raw.partial) {
      held.push(raw.text);
      this.lastTime[raw.stream] = raw.time;
      return undefined;
    }
    const line = held.length ? held.join('') + raw.text : raw.text;
    held.length = 0;
    return {time: raw.time, stream: raw.stream, line, partial: false};
  }

  /** Parts never completed (the output ended without a newline), as partial entries. */
  flush(): LogEntry[] {
    const out: LogEntry[] = [];
    for (const stream of ['stdout', 'stderr'] as const) {
      const held = this.parts[stream];
      if (held.length) out.push({time: this.lastTime[stream] ?? '', stream, line: held.join(''), partial: true});
      held.length = 0;
    }
    return out;
  }

  private readonly lastTime: Partial<Record<LogStream, string>> = {};
}
