/**
 * --stop-signal and image StopSignal: a name with or without SIG, any case
 * ("TERM", "sigkill"), a number, or RTMIN+n / RTMAX-n. Returns the
 * canonical "SIGNAME" (numbers map to their name) for the record.
 */
import {invalidInput} from '../../util/errors';

/** x86-64/arm64 Linux numbers. */
export const SIGNALS: Record<string, number> = {
  SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGILL: 4, SIGTRAP: 5, SIGABRT: 6, SIGIOT: 6, SIGBUS: 7, SIGFPE: 8, SIGKILL: 9, SIGUSR1: 10,
  SIGSEGV: 11, SIGUSR2: 12, SIGPIPE: 13, SIGALRM: 14, SIGTERM: 15, SIGSTKFLT: 16, SIGCHLD: 17, SIGCLD: 17, SIGCONT: 18, SIGSTOP: 19,
  SIGTSTP: 20, SIGTTIN: 21, SIGTTOU: 22, SIGURG: 23, SIGXCPU: 24, SIGXFSZ: 25, SIGVTALRM: 26, SIGPROF: 27, SIGWINCH: 28, SIGIO: 29,
  SIGPOLL: 29, SIGPWR: 30, SIGSYS: 31,
};
const SIGRTMIN = 34;
const SIGRTMAX = 64;
const ALIASES = new Set(['SIGIOT', 'SIGCLD', 'SIGPOLL']);

export function signalName(num: number): string {
  const n = Object.entries(SIGNALS).find(([k, v]) => v === num && !ALIASES.has(k));
  if (n) return n[0];
  if (num === SIGRTMIN) return 'SIGRTMIN';
  if (num === SIGRTMAX) return 'SIGRTMAX';
  return num < (SIGRTMIN + SIGRTMAX) / 2 ? `SIGRTMIN+${num - SIGRTMIN}` : `SIGRTMAX-${SIGRTMAX - num}`;
}

/** Signal number of a spec, or undefined. */
export function signalNumber(spec: string): number | undefined {
  const s = spec.trim().toUpperCase();
  if (/^\d+$/.test(s)) {
    const n = Number(s);
    return n >= 1 && n <= SIGRTMAX && !(n > 31 && n < SIGRTMIN) ? n : undefined;
  }
  const name = s.startsWith('SIG') ? s : 'SIG' + s;
  if (name in SIGNALS) return SIGNALS[name];
  const rt = /^SIGRT(MIN|MAX)(?:([+-])(\d+))?$/.exec(name);
  if (!rt) return undefined;
  const off = rt[3] === undefined ? 0 : Number(rt[3]) * (rt[2] === '-' ? -1 : 1);
  const n = (rt[1] === 'MIN' ? SIGRTMIN : SIGRTMAX) + off;
  return n >= SIGRTMIN && n <= SIGRTMAX ? n : undefined;
}

export function parseStopSignal(spec: string): string {
  const n = signalNumber(spec);
  if (n === undefined) throw invalidInput(`invalid signal: ${spec}`);
  return signalName(n);
}
