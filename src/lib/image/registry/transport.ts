/**
 * One HTTP exchange with a registry (or its token server / blob storage):
 * undici, loaded lazily, with the endpoint's TLS settings and bounded
 * timeouts. Redirects are followed here, and the Authorization header is
 * dropped as soon as a redirect leaves the origin it was meant for.
 */
import type {Dispatcher} from 'undici';
import {log} from '../../util/log';
import {registryError} from '../../util/errors';

export interface TlsOptions {
  ca?: Buffer[];
  cert?: Buffer;
  key?: Buffer;
}

export interface TransportOptions {
  /** Skip TLS certificate verification. */
  insecure: boolean;
  tls?: TlsOptions;
  /** Connect, response-headers and between-body-chunks idle timeout. */
  timeoutMs: number;
  userAgent: string;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Dispatcher.ResponseData['body'];
  /** The URL that produced this response (after redirects). */
  url: URL;
}

export type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH';

export interface HttpRequest {
  method: HttpMethod;
  url: URL;
  headers?: Record<string, string>;
  /** A stream body is sent once (no redirects re-send it). */
  body?: string | Buffer | AsyncIterable<Buffer>;
}

const MAX_REDIRECTS = 10;

export function header(res: {headers: HttpResponse['headers']}, name: string): string | undefined {
  const v = res.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

export class Transport {
  private agent?: Dispatcher;
  private closed = false;

  constructor(private readonly opts: TransportOptions) {}

  private async dispatcher(): Promise<Dispatcher> {
    if (this.closed) throw registryError('registry client is closed');
    if (!this.agent) {
      const {Agent} = await import('undici');
      const tls = this.opts.tls ?? {};
      this.agent = new Agent({
        connect: {
          timeout: this.opts.timeoutMs,
          rejectUnauthorized: !this.opts.insecure,
          ...(tls.ca && tls.ca.length > 0 ? {ca: tls.ca} : {}),
          ...(tls.cert ? {cert: tls.cert} : {}),
          ...(tls.key ? {key: tls.key} : {}),
        },
        headersTimeout: this.opts.timeoutMs,
        bodyTimeout: this.opts.timeoutMs,
        keepAliveTimeout: 4_000,
      });
    }
    return this.agent;
  }

  /** Performs the request, following redirects. The caller owns (and must consume or dump) the body. */
  async send(req: HttpRequest): Promise<HttpResponse> {
    const dispatcher = await this.dispatcher();
    let url = req.url;
    let method = req.method;
    let body = req.body;
    const headers: Record<string, string> = {'user-agent': this.opts.userAgent, ...lower(req.headers ?? {})};
    const origin = req.url.origin;
    for (let hop = 0; ; hop++) {
      if (url.origin !== origin) delete headers.authorization;
      log.debug(`${method} ${url.href}${headers.range ? ` (${headers.range})` : ''}`);
      const res = await dispatcher.request({
        origin: url.origin,
        path: url.pathname + url.search,
        method,
        headers,
        // undici sends an async iterable as a chunked body, aborting the request if it throws.
        body: body as string | Buffer | undefined,
      });
      log.debug(`${method} ${url.href} → ${res.statusCode}`);
      const location = res.headers.location;
      if ([301, 302, 303, 307, 308].includes(res.statusCode) && location !== undefined) {
        await res.body.dump().catch(() => {});
        if (hop >= MAX_REDIRECTS) throw registryError(`too many redirects fetching ${req.url.href}`);
        url = new URL(Array.isArray(location) ? location[0] : location, url);
        if (res.statusCode === 303 || ((res.statusCode === 301 || res.statusCode === 302) && method === 'POST')) {
          method = 'GET';
          body = undefined;
          delete headers['content-type'];
        }
        continue;
      }
      return {status: res.statusCode, headers: res.headers, body: res.body, url};
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const a = this.agent;
    this.agent = undefined;
    if (a) await a.destroy().catch(() => {});
  }
}

function lower(h: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) out[k.toLowerCase()] = v;
  return out;
}

/** Reads a whole (small) body, refusing more than `limit` bytes. */
export async function readBody(res: HttpResponse, limit: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const chunk of res.body as AsyncIterable<Buffer>) {
    n += chunk.length;
    if (n > limit) {
      res.body.destroy();
      throw registryError(`response from ${res.url.host} is larger than ${limit} bytes`);
    }
    parts.push(chunk);
  }
  return Buffer.concat(parts);
}

/** Discards a body we do not need (best effort). */
export async function discard(res: HttpResponse): Promise<void> {
  await res.body.dump({limit: 64 * 1024}).catch(() => {});
}
