/**
 * What an OCI runtime's failure message means. runc and crun report a
 * container command that cannot be run at `create` time (their init checks
 * the executable before blocking on the exec fifo), in words that differ per
 * runtime; this is the one place that reads those words and turns them into
 * a typed SkiffError, so nothing else ever matches on runtime text:
 *
 *   command not found   → 'command-not-found' (exit 127)
 *   command not runnable → 'cannot-invoke' (exit 126)
 *   anything else        → 'internal' (exit 125), with the runtime's own message
 *
 * Messages seen (runc 1.1, crun 1.8):
 *   runc create failed: unable to start container process: exec: "nosuch": executable file not found in $PATH
 *   runc create failed: unable to start container process: exec: "/nosuch": stat /nosuch: no such file or directory
 *   runc create failed: unable to start container process: exec: "/etc/passwd": permission denied
 *   crun: executable file `nosuch` not found in $PATH: No such file or directory
 *   crun: open executable: Permission denied
 *
 * Only the part about exec is matched, unlike podman, which maps any "no such
 * file or directory" (a missing bind-mount source, say) to 127.
 */
import * as fs from 'node:fs';
import {SkiffError} from '../../util/errors';

const NOT_FOUND = [/\bexec: "[^"]*": (executable file not found|stat [^:]*: no such file or directory)/i, /executable file `[^`]*` not found/i];
const CANNOT_INVOKE = [/\bexec: "[^"]*": (permission denied|exec format error|is a directory)/i, /open executable: permission denied/i, /\bexec format error/i];

/** The typed error for a runtime failure message (one line, whitespace trimmed). */
export function runtimeError(runtimeName: string, message: string, context?: string): SkiffError {
  const msg = oneLine(message) || 'unknown error';
  const where = context ? `${context}: ` : '';
  if (NOT_FOUND.some((re) => re.test(msg))) {
    return new SkiffError('command-not-found', `${where}${runtimeName}: ${msg}: OCI runtime attempted to invoke a command that was not found`);
  }
  if (CANNOT_INVOKE.some((re) => re.test(msg))) {
    return new SkiffError('cannot-invoke', `${where}${runtimeName}: ${msg}: OCI permission denied`);
  }
  return new SkiffError('internal', `${where}${runtimeName}: ${msg}`);
}

/** Collapses a multi-line message to one line. */
export function oneLine(s: string): string {
  return s
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .join('; ');
}

/**
 * The last error the runtime wrote to its `--log FILE --log-format json` log
 * (lines like {"level":"error","msg":"...","time":"..."}), or to stderr with
 * only --log-format json. Non-JSON lines count as messages too (a runtime that
 * ignores --log-format). Returns undefined when there is none.
 */
export function lastRuntimeError(text: string): string | undefined {
  let last: string | undefined;
  let lastPlain: string | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line) continue;
    if (line.startsWith('{')) {
      try {
        const j = JSON.parse(line) as {level?: unknown; msg?: unknown};
        if (typeof j.msg === 'string' && (j.level === 'error' || j.level === 'fatal')) last = j.msg;
        continue;
      } catch {
        // fall through: not JSON after all
      }
    }
    lastPlain = line;
  }
  return last ?? lastPlain;
}

/** lastRuntimeError of a log file; undefined when the file is missing or holds no error. */
export function readRuntimeLogError(file: string): string | undefined {
  try {
    return lastRuntimeError(fs.readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}
