/**
 * The foreground client of an attach session (run, start -a, attach, exec):
 * which local streams go where, the local terminal for -t (raw mode,
 * window size), the detach sequence, and --sig-proxy. close() undoes all of
 * it and is safe to call more than once.
 */
import {Flags} from './params';
import type {AttachResult, AttachSession, AttachStreams} from '../lib/runtime/attach';
import {DEFAULT_DETACH_KEYS, parseDetachKeys} from '../lib/runtime/detach-keys';
import {messageOf} from '../lib/util/errors';
import {log} from '../lib/util/log';
import {forwardSignals} from './signals';
import {openLocalTerminal, type LocalTerminal} from './terminal';

export interface AttachClientOptions {
  /** The container (or exec process) has a pty. */
  tty: boolean;
  /** Feed skiff's stdin to it. */
  stdin: boolean;
  /** podman's --detach-keys spelling; "" disables detaching. */
  detachKeys: string;
  /** Forward the signals skiff receives, through `kill`. */
  sigProxy: boolean;
  kill?: (signal: string) => Promise<void>;
}

export class AttachClient {
  readonly streams: AttachStreams;
  private readonly term: LocalTerminal;
  private stopSignals: () => void = () => {};
  private closed = false;

  /** Throws (before touching the terminal) when the detach keys are invalid. */
  constructor(private readonly o: AttachClientOptions) {
    const keys = parseDetachKeys(o.detachKeys);
    if (o.tty && o.stdin && !process.stdin.isTTY) log.warn('The input device is not a TTY. The --tty and --interactive flags might not work properly');
    this.term = openLocalTerminal(o.tty && o.stdin);
    this.streams = {
      stdin: o.stdin ? process.stdin : undefined,
      stdout: process.stdout,
      stderr: process.stderr,
      detachKeys: o.stdin && keys.length > 0 ? keys : undefined,
    };
    const kill = o.kill;
    if (o.sigProxy && kill) {
      this.stopSignals = forwardSignals(async (sig) => {
        try {
          await kill(sig);
        } catch (e) {
          process.stderr.write(`Error: ${messageOf(e)}\n`);
        }
      });
    }
  }

  /** Sends the window size to this ctl fifo now and on every SIGWINCH (with a tty). */
  followSize(ctlPath: string): void {
    if (this.o.tty && !this.closed) this.term.followSize(ctlPath);
  }

  /** Waits for the session, then closes. */
  async wait(session: AttachSession): Promise<AttachResult> {
    try {
      return await session.done;
    } finally {
      this.close();
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.term.restore();
    this.stopSignals();
    if (this.o.stdin) process.stdin.destroy();
  }
}

/** --detach-keys, as run, start, attach and exec spell it. */
export function detachKeysFlag() {
  return Flags.string({
    description: 'key sequence that detaches from the container (keeping it running): comma-separated characters or ctrl-<a-z,@,[,\\,],^,_>; "" disables',
    default: DEFAULT_DETACH_KEYS,
    helpValue: 'KEYS',
  });
}
