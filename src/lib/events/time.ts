/**
 * Event timestamps: RFC 3339 with nanoseconds (Go's time.RFC3339Nano) on
 * disk, Go's time.Time.String() for the human line, and epoch nanoseconds
 * (a bigint) to compare.
 */

let lastNs = 0n;

/** Now in epoch nanoseconds, strictly increasing within this process. */
export function nowNs(): bigint {
  const ms = BigInt(Date.now());
  const sub = process.hrtime.bigint() % 1_000_000n;
  let ns = ms * 1_000_000n + sub;
  if (ns <= lastNs) ns = lastNs + 1n;
  lastNs = ns;
  return ns;
}

function pad(n: number, w = 2): string {
  return String(n).padStart(w, '0');
}

/** Go's RFC3339Nano in UTC: fraction with trailing zeros trimmed. */
export function rfc3339Nano(ns: bigint): string {
  const ms = Number(ns / 1_000_000n);
  const d = new Date(ms);
  const frac = (ns % 1_000_000_000n).toString().padStart(9, '0').replace(/0+$/, '');
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}${frac ? '.' + frac : ''}Z`;
}

/** Parse an RFC 3339 time (any fraction length, Z or offset) into epoch ns; undefined if malformed. */
export function parseRfc3339Ns(s: string): bigint | undefined {
  const m = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:?\d{2})?$/.exec(s.trim());
  if (!m) return undefined;
  const base = Date.parse(`${m[1]}T${m[2]}${m[4] ? m[4] : 'Z'}`);
  if (Number.isNaN(base)) return undefined;
  const frac = BigInt((m[3] ?? '').padEnd(9, '0') || '0');
  return BigInt(base) * 1_000_000n + frac;
}

/** Go's time.Time.String() in local time: "2006-01-02 15:04:05.999999999 -0700 MST". */
export function goTimeString(ns: bigint): string {
  const ms = Number(ns / 1_000_000n);
  const d = new Date(ms);
  const offMin = -d.getTimezoneOffset();
  const sign = offMin >= 0 ? '+' : '-';
  const off = `${sign}${pad(Math.floor(Math.abs(offMin) / 60))}${pad(Math.abs(offMin) % 60)}`;
  let zone = 'UTC';
  if (offMin !== 0) {
    const part = new Intl.DateTimeFormat('en-US', {timeZoneName: 'short'}).formatToParts(d).find((p) => p.type === 'timeZoneName');
    zone = part && /^[A-Z]{2,5}$/.test(part.value) ? part.value : off;
  }
  const frac = (ns % 1_000_000_000n).toString().padStart(9, '0').replace(/0+$/, '');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}${frac ? '.' + frac : ''} ${off} ${zone}`;
}

/**
 * podman's --since/--until (util.ParseInputTime): RFC 3339 (with or without
 * zone, date only), unix seconds (with a fraction), or a Go duration ("10m",
 * "1h30m", "1.5h") meaning that long before now. Returns epoch ns.
 */
export function parseInputTime(s: string, now = Date.now()): bigint | undefined {
  const v = s.trim();
  if (/^\d+(\.\d{1,9})?$/.test(v)) {
    const [sec, frac = ''] = v.split('.');
    return BigInt(sec) * 1_000_000_000n + BigInt(frac.padEnd(9, '0') || '0');
  }
  const dur = goDurationMs(v);
  if (dur !== undefined) return BigInt(Math.round(now - dur)) * 1_000_000n;
  const rfc = parseRfc3339Ns(v);
  if (rfc !== undefined) return rfc;
  if (/^\d{4}-\d{2}-\d{2}$/.test(v)) {
    const t = Date.parse(`${v}T00:00:00`);
    if (!Number.isNaN(t)) return BigInt(t) * 1_000_000n;
  }
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/.test(v)) {
    const t = Date.parse(v); // local time, as Go's ParseInLocation(time.Local)
    if (!Number.isNaN(t)) return BigInt(t) * 1_000_000n;
  }
  return undefined;
}

const UNIT_MS: Record<string, number> = {ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000};

/** Go's time.ParseDuration, in ms; undefined when it is not a duration. */
export function goDurationMs(s: string): number | undefined {
  if (!s || !/^[0-9.]/.test(s)) return undefined;
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/y;
  let total = 0;
  let i = 0;
  while (i < s.length) {
    re.lastIndex = i;
    const m = re.exec(s);
    if (!m) return undefined;
    total += Number(m[1]) * UNIT_MS[m[2]];
    i = re.lastIndex;
  }
  return total;
}
