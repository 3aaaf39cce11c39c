/**
 * Command output written straight to fd 1. Node builds process.stdout on
 * first use (a net.Socket for a pipe, a SyncWriteStream for a file: 2-6 ms,
 * on every command a script reads with `$(skiff ...)`), and a reader that
 * went away (`skiff images | head -1`) made its write fail as an uncaught
 * 'error' event with a stack trace. fs.writeSync is what process.stdout
 * does on Linux anyway (stdout is synchronous for files, pipes and
 * terminals), so the order with any later stream write is kept.
 */
import * as fs from 'node:fs';

let pause: Int32Array | undefined;

/** Writes all of text to stdout; a closed reader ends the command quietly (exit 0, as `events`). */
export function writeOut(text: string): void {
  const buf = Buffer.from(text);
  let off = 0;
  while (off < buf.length) {
    try {
      off += fs.writeSync(1, buf, off, buf.length - off);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') {
        // A non-blocking pipe that is full: wait for the reader (1 ms at a time).
        pause ??= new Int32Array(new SharedArrayBuffer(4));
        Atomics.wait(pause, 0, 0, 1);
        continue;
      }
      if (code === 'EPIPE') process.exit(0);
      throw err;
    }
  }
}
