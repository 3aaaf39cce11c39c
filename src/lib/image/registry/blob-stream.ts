/**
 * A verified, resumable blob download. Bytes are hashed and counted as they
 * pass; a connection that drops mid-body is resumed with `Range: bytes=N-`
 * from the byte reached. If the server ignores Range and sends the whole
 * blob again, the bytes already delivered are skipped. The digest and size
 * are checked at the end (size also while streaming: too long fails at once).
 */
import {digestMismatch, isSkiffError, registryError} from '../../util/errors';
import {log} from '../../util/log';
import {hasherFor} from './digest';
import {isTransient, networkMessage} from './errors';
import {header, type HttpResponse} from './transport';

export interface BlobStreamOptions {
  digest: string;
  expectedSize?: number;
  /** Resume attempts allowed after a dropped connection. */
  retries: number;
  backoff: (attempt: number) => Promise<void>;
  /**
   * Starts a GET from `offset` (adding Range when offset > 0); resolves to a
   * 200/206 response, or null when the server says the range is past the end.
   */
  fetch: (offset: number) => Promise<HttpResponse | null>;
  /** "reading blob sha256:... from host/repo" */
  context: string;
}

export async function* verifiedBlobStream(o: BlobStreamOptions): AsyncGenerator<Buffer, void, undefined> {
  const {hex, hash, algorithm} = hasherFor(o.digest);
  let received = 0;
  let resumes = 0;
  let res: HttpResponse | null = null;
  try {
    for (;;) {
      res = await o.fetch(received);
      if (res === null) break;
      let skip = startOffset(res, received, o.context);
      let dropped: unknown;
      try {
        for await (const chunk of res.body as AsyncIterable<Buffer>) {
          let c = chunk;
          if (skip > 0) {
            if (c.length <= skip) {
              skip -= c.length;
              continue;
            }
            c = c.subarray(skip);
            skip = 0;
          }
          received += c.length;
          if (o.expectedSize !== undefined && received > o.expectedSize) {
            throw digestMismatch(`${o.context}: blob is larger than the expected ${o.expectedSize} bytes`);
          }
          hash.update(c);
          yield c;
        }
      } catch (err) {
        if (isSkiffError(err) || !isTransient(err)) throw wrap(err, o.context);
        dropped = err;
      }
      res = null;
      // A body that ended cleanly but short of the announced size was cut too.
      const short = dropped === undefined && (skip > 0 || (o.expectedSize !== undefined && received < o.expectedSize));
      if (dropped === undefined && !short) break;
      if (resumes >= o.retries) {
        if (dropped !== undefined) throw wrap(dropped, o.context);
        break; // report the short blob through the size check below
      }
      log.debug(`${o.context}: connection lost after ${received} bytes (${dropped ? networkMessage(dropped) : 'short body'}); resuming`);
      await o.backoff(resumes++);
    }
  } finally {
    if (res && !res.body.destroyed) res.body.destroy();
  }
  if (o.expectedSize !== undefined && received !== o.expectedSize) {
    throw digestMismatch(`${o.context}: blob size ${received} does not match the expected ${o.expectedSize}`);
  }
  const got = hash.digest('hex');
  if (got !== hex) throw digestMismatch(`${o.context}: digest mismatch: got ${algorithm}:${got}, expected ${o.digest}`);
}

/** How many leading bytes of this response we already have and must skip. */
function startOffset(res: HttpResponse, offset: number, context: string): number {
  if (offset === 0) return 0;
  if (res.status === 200) {
    log.debug(`${context}: server ignored Range; skipping ${offset} bytes already received`);
    return offset;
  }
  const range = header(res, 'content-range') ?? '';
  const m = /^bytes (\d+)-\d+\/(?:\d+|\*)$/.exec(range.trim());
  if (!m || Number(m[1]) !== offset) {
    res.body.destroy();
    throw registryError(`${context}: server answered a resume from byte ${offset} with Content-Range "${range}"`);
  }
  return 0;
}

function wrap(err: unknown, context: string): Error {
  if (isSkiffError(err)) return err;
  return registryError(`${context}: ${networkMessage(err)}`, err);
}
