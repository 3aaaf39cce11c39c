/**
 * conmon's control fifo, <bundle>/ctl (conmon 2.1 src/ctrl.c). Each message is
 * one line "TYPE A B\n":
 *   1 ROWS COLS   resize the container's terminal (forwarded to the winsz fifo, then TIOCSWINSZ)
 *   2 0 0         reopen the k8s-file log (after it was rotated away)
 * conmon keeps the fifo open for reading while it runs; when it is gone,
 * opening for writing fails with ENXIO (no reader) or ENOENT.
 */
import * as fs from 'node:fs';
import {SkiffError} from '../../util/errors';

const WIN_RESIZE_EVENT = 1;
const REOPEN_LOGS_EVENT = 2;

function send(ctlPath: string, line: string): void {
  let fd: number;
  try {
    // Non-blocking: never hang on a fifo nobody reads.
    fd = fs.openSync(ctlPath, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENXIO' || code === 'ENOENT') throw new SkiffError('conflict', `container monitor is not running (no reader on ${ctlPath})`, {cause: err});
    throw new SkiffError('internal', `opening control fifo ${ctlPath}: ${(err as Error).message}`, {cause: err});
  }
  try {
    fs.writeSync(fd, line);
  } catch (err) {
    throw new SkiffError('internal', `writing control fifo ${ctlPath}: ${(err as Error).message}`, {cause: err});
  } finally {
    fs.closeSync(fd);
  }
}

/** Tells conmon to resize the container's pty (containers started with a terminal only). */
export function resizeTerminal(ctlPath: string, rows: number, cols: number): void {
  for (const [k, v] of [['rows', rows], ['cols', cols]] as const) {
    if (!Number.isInteger(v) || v < 0 || v > 0xffff) throw new SkiffError('invalid-input', `invalid terminal ${k}: ${v}`);
  }
  send(ctlPath, `${WIN_RESIZE_EVENT} ${rows} ${cols}\n`);
}

/** Tells conmon to reopen its k8s-file log. */
export function reopenLog(ctlPath: string): void {
  send(ctlPath, `${REOPEN_LOGS_EVENT} 0 0\n`);
}
