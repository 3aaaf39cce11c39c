/**
 * A client for the OCI distribution API (pull side): ping, manifests, blobs.
 *
 * Flow, as containers/image does it: the first call pings /v2/ (HTTPS; for
 * an insecure endpoint, plain HTTP when HTTPS fails) and records the auth
 * challenges. Every later request carries credentials up front: a bearer
 * token for the repository's pull scope (fetched from the challenge's realm,
 * cached process-wide) or Basic credentials. A 401 despite that triggers one
 * token refresh with the scope the registry asked for, then is final.
 * 5xx, 429 and dropped connections are retried with exponential backoff;
 * other 4xx are not.
 */
import {createHash} from 'node:crypto';
import {authError, digestMismatch, invalidInput, registryError, unsupported, isSkiffError} from '../../util/errors';
import {log} from '../../util/log';
import {parseChallenges, type Challenge} from './challenge';
import {hasherFor, isDigest} from './digest';
import {describeErrorBody, isTransient, networkMessage, responseError} from './errors';
import {bareMediaType, DOCKER_SCHEMA1, DOCKER_SCHEMA1_SIGNED, isSchema1Type, OCI_INDEX, OCI_MANIFEST} from './media-types';
import {verifiedBlobStream} from './blob-stream';
import {cachedToken, invalidateToken, tokenKey, type IssuedToken} from './token-cache';
import {discard, header, readBody, Transport, type HttpMethod, type HttpResponse} from './transport';

export interface RegistryEndpoint {
  /** host[:port] */
  host: string;
  /** Skip TLS verification and allow a plain-HTTP fallback. */
  insecure: boolean;
  tls?: {ca?: Buffer[]; cert?: Buffer; key?: Buffer};
}

export type Credentials = {username: string; password: string} | {identityToken: string};

export interface RegistryClientOptions {
  credentials?: Credentials;
  /** Retries after the first attempt, for 5xx/429/dropped connections and blob resumes. Default 3. */
  retries?: number;
  /** First backoff delay; doubles per retry. Default 500 ms. */
  retryDelayMs?: number;
  userAgent?: string;
  /** Connect / response headers / body idle timeout. Default 30 s. */
  timeoutMs?: number;
}

export interface Manifest {
  bytes: Buffer;
  mediaType: string;
  digest: string;
}

const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
const MAX_ERROR_BODY = 64 * 1024;
const MAX_TOKEN_BODY = 1024 * 1024;
const MAX_BACKOFF_MS = 30_000;
const REPO_RE = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;
const TAG_RE = /^[\w][\w.-]{0,127}$/;

type Method = HttpMethod;

interface Req {
  method: Method;
  /** A path on the registry, or an absolute URL (an upload Location). */
  path: string;
  scopes: string[];
  headers?: Record<string, string>;
  context: string;
  body?: string | Buffer | AsyncIterable<Buffer>;
  /** A streamed body: no retry, no re-send after a 401. */
  noRetry?: boolean;
}

export type UploadStart = {mounted: true} | {mounted: false; location: string};

export class RegistryClient {
  readonly host: string;
  private readonly transport: Transport;
  private readonly retries: number;
  private readonly retryDelayMs: number;
  private readonly credentials?: Credentials;
  private readonly insecure: boolean;
  private scheme: 'https' | 'http' = 'https';
  private detected?: Promise<void>;
  private challenges: Challenge[] = [];

  constructor(endpoint: RegistryEndpoint, opts: RegistryClientOptions = {}) {
    if (!/^[A-Za-z0-9.\-[\]:]+$/.test(endpoint.host)) throw invalidInput(`invalid registry host "${endpoint.host}"`);
    // The reference grammar allows any digits as a port; a URL does not ("Invalid URL" says nothing).
    const port = /:(\d+)$/.exec(endpoint.host)?.[1];
    if (port !== undefined && !(Number(port) >= 1 && Number(port) <= 65535)) throw invalidInput(`invalid registry host "${endpoint.host}": port ${port} is not between 1 and 65535`);
    this.host = endpoint.host;
    this.credentials = opts.credentials;
    this.retries = Math.max(0, opts.retries ?? 3);
    this.retryDelayMs = Math.max(0, opts.retryDelayMs ?? 500);
    this.insecure = endpoint.insecure;
    this.transport = new Transport({
      insecure: endpoint.insecure,
      tls: endpoint.tls,
      timeoutMs: opts.timeoutMs ?? 30_000,
      userAgent: opts.userAgent ?? 'skiff',
    });
  }

  /** GET /v2/ and complete any auth challenge; bad credentials → auth error. */
  async ping(): Promise<void> {
    const context = `pinging container registry ${this.host}`;
    const res = await this.request({method: 'GET', path: '/v2/', scopes: [], context});
    if (res.status !== 200) throw await this.failure(context, res);
    await discard(res);
  }

  async getManifest(repo: string, reference: string, accept: string[]): Promise<Manifest> {
    checkRepo(repo);
    const byDigest = isDigest(reference);
    if (!byDigest && !TAG_RE.test(reference)) throw invalidInput(`invalid tag "${reference}"`);
    const verifier = byDigest ? hasherFor(reference) : undefined;
    const context = `reading manifest ${reference} in ${this.host}/${repo}`;
    const headers = {accept: accept.join(', ')};
    let bytes: Buffer | undefined;
    let res: HttpResponse | undefined;
    for (let attempt = 0; bytes === undefined; attempt++) {
      res = await this.request({method: 'GET', path: `/v2/${repo}/manifests/${reference}`, scopes: [pullScope(repo)], headers, context});
      if (res.status !== 200) throw await this.failure(context, res);
      try {
        bytes = await readBody(res, MAX_MANIFEST_BYTES);
      } catch (err) {
        if (isSkiffError(err) || !isTransient(err) || attempt >= this.retries) throw wrapNetwork(context, err);
        await this.backoff(attempt);
      }
    }
    const mediaType = detectMediaType(header(res!, 'content-type'), bytes);
    if (isSchema1Type(mediaType)) throw unsupported(`${context}: schema1 manifests are not supported`);

    let digest: string;
    if (verifier) {
      const got = verifier.hash.update(bytes).digest('hex');
      if (got !== verifier.hex) {
        throw digestMismatch(`${context}: manifest digest mismatch: got ${verifier.algorithm}:${got}, expected ${reference}`);
      }
      digest = reference;
    } else {
      const sent = header(res!, 'docker-content-digest')?.trim();
      digest = 'sha256:' + createHash('sha256').update(bytes).digest('hex');
      if (sent && isDigest(sent)) {
        const v = tryHasher(sent);
        if (v) {
          const got = v.hash.update(bytes).digest('hex');
          if (got !== v.hex) throw digestMismatch(`${context}: manifest does not match its Docker-Content-Digest ${sent}`);
          digest = sent;
        }
      }
    }
    return {bytes, mediaType, digest};
  }

  /** Streams a blob, verifying size and digest; resumes dropped connections with Range. */
  openBlob(repo: string, digest: string, expectedSize?: number): AsyncIterable<Buffer> {
    checkRepo(repo);
    hasherFor(digest);
    const context = `reading blob ${digest} from ${this.host}/${repo}`;
    return verifiedBlobStream({
      digest,
      expectedSize,
      retries: this.retries,
      backoff: (n) => this.backoff(n),
      context,
      fetch: async (offset) => {
        const headers: Record<string, string> = offset > 0 ? {range: `bytes=${offset}-`} : {};
        const res = await this.request({method: 'GET', path: `/v2/${repo}/blobs/${digest}`, scopes: [pullScope(repo)], headers, context});
        if (res.status === 200 || (res.status === 206 && offset > 0)) return res;
        if (res.status === 416 && offset > 0 && offset === expectedSize) {
          await discard(res);
          return null;
        }
        throw await this.failure(context, res);
      },
    });
  }

  async blobExists(repo: string, digest: string): Promise<boolean> {
    checkRepo(repo);
    hasherFor(digest);
    const context = `checking whether blob ${digest} exists in ${this.host}/${repo}`;
    const res = await this.request({method: 'HEAD', path: `/v2/${repo}/blobs/${digest}`, scopes: [pullScope(repo)], context});
    await discard(res);
    if (res.status === 200) return true;
    if (res.status === 404) return false;
    throw responseError(context, res.status, Buffer.alloc(0), this.credentials !== undefined);
  }

  async close(): Promise<void> {
    await this.transport.close();
  }

  // --- push side (Distribution spec: blob uploads, manifests) ---------------

  /** HEAD a blob with push scope (so one token serves the whole push). */
  async blobExistsForPush(repo: string, digest: string): Promise<boolean> {
    checkRepo(repo);
    hasherFor(digest);
    const context = `checking whether blob ${digest} exists in ${this.host}/${repo}`;
    const res = await this.request({method: 'HEAD', path: `/v2/${repo}/blobs/${digest}`, scopes: [pushScope(repo)], context});
    await discard(res);
    if (res.status === 200) return true;
    if (res.status === 404) return false;
    throw responseError(context, res.status, Buffer.alloc(0), this.credentials !== undefined);
  }

  /**
   * POST /v2/<repo>/blobs/uploads/; with `mount`, ask for a cross-repository
   * mount first (201: done, no upload; 202: the registry declined and
   * started a normal upload session instead).
   */
  async startUpload(repo: string, mount?: {digest: string; from: string}): Promise<UploadStart> {
    checkRepo(repo);
    const scopes = [pushScope(repo)];
    let q = '';
    if (mount) {
      checkRepo(mount.from);
      hasherFor(mount.digest);
      q = `?mount=${encodeURIComponent(mount.digest)}&from=${encodeURIComponent(mount.from)}`;
      if (mount.from !== repo) scopes.push(pullScope(mount.from));
    }
    const context = mount ? `mounting blob ${mount.digest} from ${mount.from} into ${this.host}/${repo}` : `starting an upload to ${this.host}/${repo}`;
    const res = await this.request({method: 'POST', path: `/v2/${repo}/blobs/uploads/${q}`, scopes, context, headers: {'content-length': '0'}, body: ''});
    if (res.status === 201 && mount) {
      await discard(res);
      return {mounted: true};
    }
    if (res.status !== 202) throw await this.failure(context, res);
    await discard(res);
    return {mounted: false, location: this.location(res, context)};
  }

  /**
   * Streamed upload: the whole body in one PATCH (no Content-Range, as
   * containers/image sends it). Returns the next Location. A stream cannot
   * be re-sent, so there are no retries; the caller restarts the upload.
   */
  async patchStream(repo: string, location: string, body: AsyncIterable<Buffer>): Promise<string> {
    const context = `uploading a blob to ${this.host}/${repo}`;
    const res = await this.request({method: 'PATCH', path: location, scopes: [pushScope(repo)], context, headers: {'content-type': 'application/octet-stream'}, body, noRetry: true});
    if (res.status !== 202 && res.status !== 204) throw await this.failure(context, res);
    await discard(res);
    return this.location(res, context, location);
  }

  /** Chunked upload: one PATCH with Content-Range start-end (inclusive); retried like any request. */
  async patchChunk(repo: string, location: string, chunk: Buffer, start: number): Promise<string> {
    const context = `uploading a blob chunk to ${this.host}/${repo}`;
    const headers = {'content-type': 'application/octet-stream', 'content-length': String(chunk.length), 'content-range': `${start}-${start + chunk.length - 1}`};
    const res = await this.request({method: 'PATCH', path: location, scopes: [pushScope(repo)], context, headers, body: chunk});
    if (res.status === 416) throw registryError(`${context}: the registry refused the chunk at ${start} (range not satisfiable)`);
    if (res.status !== 202 && res.status !== 204) throw await this.failure(context, res);
    await discard(res);
    return this.location(res, context, location);
  }

  /** PUT <location>?digest=: closes the session; `body` (monolithic upload) may carry the whole blob. */
  async finishUpload(repo: string, location: string, digest: string, body?: Buffer): Promise<void> {
    hasherFor(digest);
    const context = `committing blob ${digest} to ${this.host}/${repo}`;
    const url = new URL(location, this.url('/'));
    url.searchParams.set('digest', digest);
    const headers: Record<string, string> = {'content-type': 'application/octet-stream', 'content-length': String(body?.length ?? 0)};
    const res = await this.request({method: 'PUT', path: url.href, scopes: [pushScope(repo)], context, headers, body: body ?? ''});
    if (res.status !== 201 && res.status !== 204) throw await this.failure(context, res);
    await discard(res);
  }

  /** PUT a manifest under a tag or digest; returns the digest the registry reports (or ours). */
  async putManifest(repo: string, reference: string, bytes: Buffer, mediaType: string): Promise<string> {
    checkRepo(repo);
    if (!isDigest(reference) && !TAG_RE.test(reference)) throw invalidInput(`invalid tag "${reference}"`);
    const context = `writing manifest ${reference} to ${this.host}/${repo}`;
    const res = await this.request({method: 'PUT', path: `/v2/${repo}/manifests/${reference}`, scopes: [pushScope(repo)], context, headers: {'content-type': mediaType}, body: bytes});
    if (res.status !== 201 && res.status !== 200 && res.status !== 202) throw await this.failure(context, res);
    await discard(res);
    return 'sha256:' + createHash('sha256').update(bytes).digest('hex');
  }

  private location(res: HttpResponse, context: string, fallback?: string): string {
    const loc = header(res, 'location');
    if (!loc) {
      if (fallback) return fallback;
      throw registryError(`${context}: the registry sent no upload location`);
    }
    return new URL(loc, this.url('/')).href;
  }

  // --- internals -----------------------------------------------------------

  private url(path: string): URL {
    return new URL(`${this.scheme}://${this.host}${path}`);
  }

  private async failure(context: string, res: HttpResponse): Promise<Error> {
    const body = res.status === 401 || res.status >= 400 ? await readBody(res, MAX_ERROR_BODY).catch(() => Buffer.alloc(0)) : Buffer.alloc(0);
    if (res.status < 400) await discard(res);
    return responseError(context, res.status, body, this.credentials !== undefined);
  }

  async backoff(attempt: number, retryAfter?: string): Promise<void> {
    let ms = Math.min(this.retryDelayMs * 2 ** attempt, MAX_BACKOFF_MS);
    const secs = retryAfter !== undefined ? Number(retryAfter) : NaN;
    if (Number.isFinite(secs) && secs >= 0) ms = Math.min(Math.max(ms, secs * 1000), 60_000);
    if (ms > 0) await new Promise((r) => setTimeout(r, ms));
  }

  /** Detects the scheme and the auth challenges once per client (the "ping"). */
  private detect(): Promise<void> {
    this.detected ??= this.doDetect().catch((err) => {
      this.detected = undefined;
      throw err;
    });
    return this.detected;
  }

  private async doDetect(): Promise<void> {
    const context = `pinging container registry ${this.host}`;
    const schemes: ('https' | 'http')[] = this.insecure ? ['https', 'http'] : ['https'];
    let lastErr: unknown;
    for (const scheme of schemes) {
      this.scheme = scheme;
      try {
        // Over HTTPS with an HTTP fallback pending, do not spend retries on a scheme that may be wrong.
        const retries = scheme === 'https' && this.insecure ? 0 : this.retries;
        const res = await this.exchange('GET', this.url('/v2/'), {}, context, retries);
        if (res.status === 200 || res.status === 401) {
          this.challenges = parseChallenges(res.headers['www-authenticate']);
          await discard(res);
          log.debug(`registry ${this.host} speaks ${scheme}; auth: ${this.challenges.map((c) => c.scheme).join(', ') || 'none'}`);
          return;
        }
        lastErr = await this.failure(context, res);
      } catch (err) {
        lastErr = err;
      }
      if (scheme === 'https' && this.insecure) log.debug(`${context} over https failed (${messageOf(lastErr)}); trying http`);
    }
    throw lastErr;
  }

  /** One request with retries on 5xx/429/transient network errors; no auth handling. */
  private async exchange(method: Method, url: URL, headers: Record<string, string>, context: string, retries = this.retries, body?: string | Buffer | AsyncIterable<Buffer>): Promise<HttpResponse> {
    for (let attempt = 0; ; attempt++) {
      let res: HttpResponse;
      try {
        res = await this.transport.send({method, url, headers, body});
      } catch (err) {
        if (isSkiffError(err)) throw err;
        if (isTransient(err) && attempt < retries) {
          log.debug(`${context}: ${networkMessage(err)}; retrying`);
          await this.backoff(attempt);
          continue;
        }
        throw wrapNetwork(context, err);
      }
      if ((res.status >= 500 || res.status === 429) && attempt < retries) {
        log.debug(`${context}: HTTP ${res.status}; retrying`);
        await discard(res);
        await this.backoff(attempt, header(res, 'retry-after'));
        continue;
      }
      return res;
    }
  }

  /** An authenticated registry request; returns the final response, whatever its status. */
  private async request(req: Req): Promise<HttpResponse> {
    await this.detect();
    let scopes = req.scopes;
    let refreshed = false;
    for (;;) {
      const auth = await this.authorization(scopes, req.context);
      const headers = {...req.headers, ...(auth ? {authorization: auth.header} : {})};
      const url = /^https?:\/\//.test(req.path) ? new URL(req.path) : this.url(req.path);
      const res = await this.exchange(req.method, url, headers, req.context, req.noRetry ? 0 : this.retries, req.body);
      if (res.status !== 401 || refreshed || req.noRetry) return res;
      const fresh = parseChallenges(res.headers['www-authenticate']);
      const bearer = fresh.find((c) => c.scheme === 'bearer');
      const basic = fresh.find((c) => c.scheme === 'basic');
      if (bearer) {
        // The token was refused or lacked a scope the registry wants: fetch a new one once.
        if (auth?.tokenKey) invalidateToken(auth.tokenKey, auth.token);
        if (bearer.params.scope) scopes = [...new Set([...scopes, ...bearer.params.scope.split(' ').filter(Boolean)])];
      } else if (!basic || !this.credentials || auth?.scheme === 'basic') {
        return res;
      }
      this.challenges = fresh;
      refreshed = true;
      await discard(res);
    }
  }

  private async authorization(scopes: string[], context: string): Promise<{header: string; scheme: string; tokenKey?: string; token?: string} | undefined> {
    const bearer = this.challenges.find((c) => c.scheme === 'bearer');
    if (bearer) {
      const realm = bearer.params.realm;
      const service = bearer.params.service ?? '';
      const key = tokenKey({realm: realm ?? '', service, scopes, identity: identityOf(this.credentials)});
      const token = await cachedToken(key, () => this.fetchToken(bearer, scopes, context));
      return {header: `Bearer ${token}`, scheme: 'bearer', tokenKey: key, token};
    }
    const basic = this.challenges.find((c) => c.scheme === 'basic');
    if (basic && this.credentials) {
      if (!('username' in this.credentials)) throw authError(`${context}: an identity token cannot be used with Basic authentication`);
      const {username, password} = this.credentials;
      return {header: 'Basic ' + Buffer.from(`${username}:${password}`).toString('base64'), scheme: 'basic'};
    }
    return undefined;
  }

  /** Distribution token auth: GET realm?service&scope (Basic creds), or the OAuth2 POST for an identity token. */
  private async fetchToken(ch: Challenge, scopes: string[], context: string): Promise<IssuedToken> {
    const realmStr = ch.params.realm;
    let realm: URL;
    try {
      realm = new URL(realmStr ?? '');
    } catch {
      throw authError(`${context}: invalid bearer realm "${realmStr ?? ''}"`);
    }
    if (realm.protocol !== 'https:' && realm.protocol !== 'http:') throw authError(`${context}: unsupported bearer realm "${realmStr}"`);
    const service = ch.params.service;
    const creds = this.credentials;
    let res: HttpResponse;
    if (creds && 'identityToken' in creds) {
      const form = new URLSearchParams({grant_type: 'refresh_token', refresh_token: creds.identityToken, client_id: 'skiff'});
      if (service) form.set('service', service);
      if (scopes.length) form.set('scope', scopes.join(' '));
      res = await this.exchange('POST', realm, {'content-type': 'application/x-www-form-urlencoded'}, context, this.retries, form.toString());
    } else {
      const url = new URL(realm.href);
      if (service) url.searchParams.set('service', service);
      for (const s of scopes) url.searchParams.append('scope', s);
      const headers: Record<string, string> = {};
      if (creds) {
        url.searchParams.set('account', creds.username);
        headers.authorization = 'Basic ' + Buffer.from(`${creds.username}:${creds.password}`).toString('base64');
      }
      res = await this.exchange('GET', url, headers, context, this.retries);
    }
    const body = await readBody(res, MAX_TOKEN_BODY).catch((err) => {
      throw wrapNetwork(context, err);
    });
    if (res.status === 401 || res.status === 403) {
      throw authError(`${context}: ${creds ? 'invalid username/password' : 'authentication required'}`);
    }
    if (res.status !== 200) throw registryError(`${context}: fetching a token from ${realm.host}: ${describeErrorBody(body, res.status)}`);
    let doc: {token?: unknown; access_token?: unknown; expires_in?: unknown};
    try {
      doc = JSON.parse(body.toString('utf8'));
    } catch {
      throw registryError(`${context}: the token server ${realm.host} returned invalid JSON`);
    }
    const token = typeof doc.token === 'string' && doc.token ? doc.token : typeof doc.access_token === 'string' ? doc.access_token : '';
    if (!token) throw registryError(`${context}: the token server ${realm.host} returned no token`);
    const expiresInSec = typeof doc.expires_in === 'number' && doc.expires_in > 0 ? doc.expires_in : 60;
    return {token, expiresInSec};
  }
}

export function pullScope(repo: string): string {
  return `repository:${repo}:pull`;
}

export function pushScope(repo: string): string {
  return `repository:${repo}:pull,push`;
}

function checkRepo(repo: string): void {
  if (!REPO_RE.test(repo)) throw invalidInput(`invalid repository name "${repo}"`);
}

function identityOf(c: Credentials | undefined): string {
  if (!c) return 'anonymous';
  const secret = 'identityToken' in c ? `token:${c.identityToken}` : `user:${c.username}:${c.password}`;
  return createHash('sha256').update(secret).digest('hex');
}

function tryHasher(digest: string): ReturnType<typeof hasherFor> | undefined {
  try {
    return hasherFor(digest);
  } catch {
    return undefined;
  }
}

function wrapNetwork(context: string, err: unknown): Error {
  if (isSkiffError(err)) return err;
  return registryError(`${context}: ${networkMessage(err)}`, err);
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Content-Type without parameters; when vague, what the JSON itself says. */
export function detectMediaType(contentType: string | undefined, bytes: Buffer): string {
  const ct = bareMediaType(contentType);
  if (ct && ct !== 'application/json' && ct !== 'text/plain' && ct !== 'application/octet-stream') return ct;
  let doc: {mediaType?: unknown; schemaVersion?: unknown; manifests?: unknown; layers?: unknown; fsLayers?: unknown; signatures?: unknown};
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch {
    return ct;
  }
  if (typeof doc.mediaType === 'string' && doc.mediaType) return doc.mediaType;
  if (doc.schemaVersion === 1 || doc.fsLayers !== undefined) return doc.signatures !== undefined ? DOCKER_SCHEMA1_SIGNED : DOCKER_SCHEMA1;
  // OCI allows mediaType to be omitted.
  if (Array.isArray(doc.manifests)) return OCI_INDEX;
  if (Array.isArray(doc.layers)) return OCI_MANIFEST;
  return ct;
}
