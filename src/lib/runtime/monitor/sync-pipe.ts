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
