/**
 * Leveled diagnostics, podman's --log-level names. lib code logs through
 * this module only; the CLI decides the level and where lines go (stderr).
 * Nothing here writes to stdout.
 */
export const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'panic'] as const;
export type Level = (typeof LEVELS)[number];

let threshold = LEVELS.indexOf('warn');
let sink: (line: string) => void = (line) => process.stderr.write(line + '\n');

export function isLevel(s: string): s is Level {
  return (LEVELS as readonly string[]).includes(s);
}

export function configureLog(level: Level, out?: (line: string) => void): void {
  threshold = LEVELS.indexOf(level);
  if (out) sink = out;
}

export function enabled(level: Level): boolean {
  return LEVELS.indexOf(level) >= threshold;
}

function emit(level: Level, msg: string): void {
  if (!enabled(level)) return;
  const tag = level.toUpperCase().slice(0, 4);
  const secs = Math.floor(process.uptime()).toString().padStart(4, '0');
  sink(`${tag}[${secs}] ${msg}`);
}

export const log = {
  trace: (msg: string) => emit('trace', msg),
  debug: (msg: string) => emit('debug', msg),
  info: (msg: string) => emit('info', msg),
  warn: (msg: string) => emit('warn', msg),
  error: (msg: string) => emit('error', msg),
};

/** `--log-level trace`: a named point of a command, with the milliseconds since the process started (for profiling). */
export function phase(label: string): void {
  if (threshold === 0) emit('trace', `phase ${label} at ${(process.uptime() * 1000).toFixed(1)} ms`);
}
