/**
 * Human-readable sizes and durations as podman prints them (it uses
 * docker/go-units: decimal units, three significant digits; "x ago").
 */

const DECIMAL = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB', 'ZB', 'YB'];

/** Go's %.{p}g for a positive float: shortest of fixed/exponent, trailing zeros trimmed. */
function goG(v: number, precision: number): string {
  if (v === 0) return '0';
  const exp = Math.floor(Math.log10(Math.abs(v)));
  if (exp < -4 || exp >= precision) {
    const s = v.toExponential(precision - 1).replace(/\.?0+e/, 'e');
    return s.replace(/e([+-])(\d)$/, 'e$10$2');
  }
  return Number(v.toPrecision(precision)).toString();
}

export function humanSize(bytes: number, precision = 3): string {
  let size = bytes;
  let i = 0;
  while (size >= 1000 && i < DECIMAL.length - 1) {
    size /= 1000;
    i++;
  }
  return `${goG(size, precision)} ${DECIMAL[i]}`;
}

export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.floor(ms / 60000);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.round(ms / 3600000);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.floor(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.floor(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24 / 30)} months`;
  return `${Math.floor(ms / 3600000 / 24 / 365)} years`;
}

export function timeAgo(iso: string, now = Date.now()): string {
  return `${humanDuration(now - Date.parse(iso))} ago`;
}

/** Parse "10s", "5m", "1h30m", "2h", RFC 3339 or unix seconds into epoch ms (for --since/--until filters). */
export function parseTimeOrDuration(s: string, now = Date.now()): number | undefined {
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s) * 1000;
  const dur = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(s);
  if (dur && s) return now - ((Number(dur[1] ?? 0) * 60 + Number(dur[2] ?? 0)) * 60 + Number(dur[3] ?? 0)) * 1000;
  const t = Date.parse(s);
  return Number.isNaN(t) ? undefined : t;
}
