/**
 * conmon's sync pipe (fd named by _OCI_SYNCPIPE): with --api-version 1 conmon
 * writes one JSON object per line, `{"data": N}` or
 * `{"data": N, "message": "..."}`. After `runtime create` N is the container's
 * pid, or -1 with the runtime's stderr as the message when create failed.
 * (For exec sessions a second message carries the exit code; skiff does not
 * read that one here.)
 */
import type {Readable} from 'node:stream';

export interface SyncMessage {
  data: number;
  message?: string;
}

/** Parses one sync-pipe line; undefined when it is not a conmon message. */
export function parseSyncMessage(line: string): SyncMessage | undefined {
  let j: unknown;
  try {
    j = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof j !== 'object' || j === null) return undefined;
  const o = j as Record<string, unknown>;
  // api-version 1 says "data"; the legacy API said "pid" / "exit_code".
  const data = o.data ?? o.pid ?? o.exit_code;
  if (typeof data !== 'number' || !Number.isInteger(data)) return undefined;
  return typeof o.message === 'string' ? {data, message: o.message} : {data};
}

/**
 * Resolves with the first message read from `stream`, or undefined when the
 * stream ends (or errors) first: conmon died before reporting. The stream is
 * left paused with its listeners removed; the caller destroys it.
 */
export function readSyncMessage(stream: Readable): Promise<SyncMessage | undefined> {
  return new Promise((resolve) => {
    let buf = '';
    const finish = (m: SyncMessage | undefined) => {
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('close', onEnd);
      stream.off('error', onEnd);
      stream.pause();
      resolve(m);
    };
    const onData = (chunk: Buffer | string) => {
      buf += chunk.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        const m = line ? parseSyncMessage(line) : undefined;
        if (m) return finish(m);
      }
    };
    const onEnd = () => finish(buf.trim() ? parseSyncMessage(buf.trim()) : undefined);
    stream.on('data', onData);
    stream.once('end', onEnd);
    stream.once('close', onEnd);
    stream.once('error', onEnd);
  });
}

/**
 * Reads successive messages from one pipe (an exec session's sync pipe
 * carries the process's pid, then its exit status), keeping what arrives
 * between calls. next() resolves undefined once the pipe has ended.
 */
export class SyncReader {
  private buf = '';
  private queue: Array<SyncMessage | undefined> = [];
  private waiters: Array<(m: SyncMessage | undefined) => void> = [];
  private ended = false;

  constructor(stream: Readable) {
    stream.on('data', (chunk: Buffer | string) => {
      this.buf += chunk.toString();
      let nl: number;
      while ((nl = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, nl).trim();
        this.buf = this.buf.slice(nl + 1);
        const m = line ? parseSyncMessage(line) : undefined;
        if (m) this.push(m);
      }
    });
    const end = () => {
      if (this.ended) return;
      const rest = this.buf.trim();
      this.buf = '';
      const m = rest ? parseSyncMessage(rest) : undefined;
      if (m) this.push(m);
      this.ended = true;
      for (const w of this.waiters.splice(0)) w(undefined);
    };
    stream.once('end', end);
    stream.once('close', end);
    stream.once('error', end);
  }

  private push(m: SyncMessage): void {
    const w = this.waiters.shift();
    if (w) w(m);
    else this.queue.push(m);
  }

  next(): Promise<SyncMessage | undefined> {
    if (this.queue.length > 0) return Promise.resolve(this.queue.shift());
    if (this.ended) return Promise.resolve(undefined);
    return new Promise((resolve) => this.waiters.push(resolve));
  }
}
