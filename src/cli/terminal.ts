/**
 * The local side of a container terminal (-t): skiff's own terminal goes
 * raw for the session (every key, ctrl-c included, goes to the container's
 * pty; the detach sequence is caught by the attach session) and is
 * restored on every way out: the session's end, an error (process 'exit'),
 * or SIGTERM/SIGINT (Node restores the terminal it started with itself).
 * The window size goes to conmon's ctl fifo at the start and on SIGWINCH.
 */
import type * as tty from 'node:tty';
import {resizeTerminal} from '../lib/runtime/monitor/ctl';
import {log} from '../lib/util/log';
import {messageOf} from '../lib/util/errors';

/** The local terminal's size, from whichever standard stream is a terminal. */
export function localTerminalSize(): {rows: number; cols: number} | undefined {
  for (const s of [process.stdout, process.stderr, process.stdin] as Array<Partial<tty.WriteStream> & {isTTY?: boolean}>) {
    if (!s.isTTY || typeof s.getWindowSize !== 'function') continue;
    try {
      const [cols, rows] = s.getWindowSize();
      if (cols > 0 && rows > 0) return {rows, cols};
    } catch {
      // not a terminal after all
    }
  }
  return undefined;
}

export interface LocalTerminal {
  /** Starts sending the window size to conmon's ctl fifo (now and on every SIGWINCH). */
  followSize(ctlPath: string): void;
  /** Leaves raw mode and stops following the size; idempotent. */
  restore(): void;
}

/** Puts stdin in raw mode when `raw` and stdin is a terminal. */
export function openLocalTerminal(raw: boolean): LocalTerminal {
  // process.stdin is made on first use (Node then loads its stream classes, ~1-3 ms on
  // every foreground run): touch it only when raw mode is asked for.
  const stdin = raw ? (process.stdin as tty.ReadStream) : undefined;
  let rawOn = false;
  if (stdin?.isTTY) {
    stdin.setRawMode(true);
    rawOn = true;
  }
  let onWinch: (() => void) | undefined;
  const leaveRaw = () => {
    if (!rawOn) return;
    rawOn = false;
    try {
      stdin?.setRawMode(false);
    } catch {
      // stdin already closed
    }
  };
  process.once('exit', leaveRaw);
  return {
    followSize(ctlPath: string) {
      if (onWinch) process.off('SIGWINCH', onWinch);
      const send = () => {
        const size = localTerminalSize();
        if (!size) return;
        try {
          resizeTerminal(ctlPath, size.rows, size.cols);
        } catch (err) {
          log.debug(`resize: ${messageOf(err)}`);
        }
      };
      onWinch = send;
      process.on('SIGWINCH', send);
      send();
    },
    restore() {
      leaveRaw();
      process.off('exit', leaveRaw);
      if (onWinch) process.off('SIGWINCH', onWinch);
      onWinch = undefined;
    },
  };
}
