/**
 * Turning registry responses and network failures into one-line SkiffErrors
 * that read like podman's ("reading manifest latest in host/repo: manifest
 * unknown").
 */
import {STATUS_CODES} from 'node:http';
import {authError, errnoCode, notFound, registryError, type SkiffError} from '../../util/errors';

/** Error body of the distribution API: {"errors":[{"code","message","detail"}]}. */
export function describeErrorBody(body: Buffer, status: number): string {
  let text = '';
  try {
    const doc = JSON.parse(body.toString('utf8')) as {errors?: {code?: unknown; message?: unknown}[]};
    if (Array.isArray(doc.errors)) {
      text = doc.errors
        .map((e) => {
          const msg = typeof e.message === 'string' && e.message ? e.message : '';
          const code = typeof e.code === 'string' ? e.code.toLowerCase().replace(/_/g, ' ') : '';
          if (!msg) return code;
          if (!code || msg.toLowerCase() === code) return msg;
          return msg;
        })
        .filter(Boolean)
        .join('; ');
    }
  } catch {
    // not JSON: fall through to the status line
  }
  if (!text) text = `received unexpected HTTP status: ${status} ${STATUS_CODES[status] ?? ''}`.trim();
  return text.replace(/\s*\n\s*/g, ' ');
}

/** Error for a final non-success response; `context` names the operation. */
export function responseError(context: string, status: number, body: Buffer, hadCredentials: boolean): SkiffError {
  let what = describeErrorBody(body, status);
  if (status === 401) {
    if (what.startsWith('received unexpected HTTP status')) what = 'authentication required';
    return authError(`${context}: ${hadCredentials && /authentication required/i.test(what) ? 'invalid username/password' : what}`);
  }
  if (status === 403) return authError(`${context}: ${what}`);
  if (status === 404) return notFound(`${context}: ${what}`);
  return registryError(`${context}: ${what}`);
}

/** One-line description of a network-level error (undici / net / tls). */
export function networkMessage(err: unknown): string {
  const code = errnoCode(err);
  const e = err as {message?: string; cause?: unknown};
  // undici wraps socket errors ("fetch failed" style); prefer the cause.
  if (e && typeof e === 'object' && e.cause && (code === undefined || code === 'UND_ERR_SOCKET')) {
    const inner = networkMessage(e.cause);
    if (inner) return inner;
  }
  switch (code) {
    case 'UND_ERR_HEADERS_TIMEOUT':
      return 'timed out waiting for the response headers';
    case 'UND_ERR_BODY_TIMEOUT':
      return 'timed out reading the response body';
    case 'UND_ERR_CONNECT_TIMEOUT':
      return 'timed out connecting';
    case 'UND_ERR_SOCKET':
      return 'connection closed by the server';
  }
  const msg = (typeof e?.message === 'string' ? e.message : String(err)).split('\n')[0];
  return msg || code || 'network error';
}

const TRANSIENT = new Set([
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ECONNABORTED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
]);

/** A network error worth retrying: resets, timeouts, a connection dropped mid-response. */
export function isTransient(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 4; e = (e as {cause?: unknown}).cause, depth++) {
    const code = errnoCode(e);
    if (code && TRANSIENT.has(code)) return true;
  }
  return false;
}
