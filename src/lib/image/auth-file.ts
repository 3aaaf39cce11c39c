/**
 * Registry credentials in containers-auth.json(5) files, read and written
 * the way containers/image's pkg/docker/config does it.
 *
 * File shape: {"auths": {"KEY": {"auth": base64("user:pass"), "identitytoken": "..."}}}
 * where KEY is a registry host[:port], or a namespace / repository within it
 * ("quay.io/team", "quay.io/team/app") for scoped credentials.
 *
 * Reading: with an explicit --authfile only that file; otherwise the default
 * file (Paths.defaultAuthFile()), then Paths.fallbackAuthFiles() (the
 * per-user containers auth.json, Docker's config.json, the legacy
 * ~/.dockercfg). The first file with a usable entry wins. Within a file the
 * most specific key wins (host/ns/repo, host/ns, host); failing that, keys
 * spelled as URLs ("https://index.docker.io/v1/") are normalised to their
 * host, and docker.io, index.docker.io and registry-1.docker.io are one
 * registry. Callers that honour REGISTRY_AUTH_FILE as podman does should
 * pass it as `authfile`, which makes it the only file read.
 *
 * Credential helpers (credHelpers / credsStore) are not supported: they are
 * reported with a warning and ignored.
 *
 * Writing goes to the explicit authfile or the default file only: temp file
 * + rename, mode 0600, a new parent directory 0700, every other entry and
 * top-level field kept as it was.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type {Paths} from '../state/paths';
import {ensureDir, writeFileAtomic} from '../state/atomic';
import {lockFile} from '../state/lock';
import {errnoCode, invalidInput, messageOf} from '../util/errors';
import {log} from '../util/log';

export type Credentials = {username: string; password: string} | {identityToken: string};

export interface AuthFileOptions {
  paths: Paths;
  /** --authfile: the only file read, and the file written. */
  authfile?: string;
}

interface AuthEntry {
  auth?: string;
  identitytoken?: string;
  [k: string]: unknown;
}

interface AuthFileContents {
  auths: Record<string, AuthEntry>;
  credHelpers?: Record<string, unknown>;
  credsStore?: unknown;
  [k: string]: unknown;
}

interface AuthFileRef {
  file: string;
  /** ~/.dockercfg: the top level is the auths map, keyed by registry (URL) only. */
  legacy: boolean;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

// --- keys --------------------------------------------------------------------------

function stripScheme(key: string): {rest: string; hadScheme: boolean} {
  const m = /^https?:\/\//.exec(key);
  return m ? {rest: key.slice(m[0].length), hadScheme: true} : {rest: key, hadScheme: false};
}

/** docker.io's three spellings compare equal. */
function normalizeRegistry(host: string): string {
  return host === 'docker.io' || host === 'registry-1.docker.io' ? 'index.docker.io' : host;
}

/** A key found in a file, as the registry it names (URL keys lose scheme and path). */
function normalizeFileKey(key: string, legacy: boolean): string {
  const {rest, hadScheme} = stripScheme(key);
  const host = legacy || hadScheme ? rest.split('/')[0]! : rest;
  return normalizeRegistry(host);
}

/**
 * The key to store or look up for user input: "quay.io", "quay.io/ns/repo",
 * "localhost:5000". A URL ("https://quay.io/v2/") becomes its host; a key with
 * a tag or digest is rejected.
 */
export function normalizeAuthKey(input: string): string {
  let key = input.trim();
  const {rest, hadScheme} = stripScheme(key);
  key = hadScheme ? rest.split('/')[0]! : rest.replace(/\/+$/, '');
  if (key === '') throw invalidInput(`invalid registry ${JSON.stringify(input)}: empty`);
  if (key.includes('@')) throw invalidInput(`invalid registry key ${JSON.stringify(input)}: must not contain a digest ("@")`);
  const slash = key.indexOf('/');
  if (slash === 0) throw invalidInput(`invalid registry key ${JSON.stringify(input)}: must start with a registry host`);
  if (slash > 0 && key.slice(slash + 1).includes(':')) {
    throw invalidInput(`invalid registry key ${JSON.stringify(input)}: must not contain a tag (":" after host[:port])`);
  }
  if (/\s/.test(key)) throw invalidInput(`invalid registry key ${JSON.stringify(input)}: must not contain whitespace`);
  return key;
}

const DOCKER_HUB_HOSTS = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);

/**
 * Keys to try in order: host/ns/repo, host/ns, host. Docker Hub's API hosts
 * (registry-1.docker.io, index.docker.io) also try the "docker.io" spelling
 * podman stores, at each level, so a lookup by endpoint finds scoped entries.
 */
function lookupOrder(key: string): string[] {
  const slash = key.indexOf('/');
  const host = slash === -1 ? key : key.slice(0, slash);
  const rest = slash === -1 ? '' : key.slice(slash);
  const hosts = DOCKER_HUB_HOSTS.has(host) && host !== 'docker.io' ? [host, 'docker.io'] : [host];
  const out: string[] = [];
  for (let r = rest; ; ) {
    for (const h of hosts) out.push(h + r);
    if (r === '') break;
    r = r.slice(0, r.lastIndexOf('/'));
  }
  return out;
}

// --- files ---------------------------------------------------------------------------

function readFiles(opts: AuthFileOptions): AuthFileRef[] {
  if (opts.authfile) return [{file: opts.authfile, legacy: false}];
  const out: AuthFileRef[] = [];
  const seen = new Set<string>();
  for (const file of [opts.paths.defaultAuthFile(), ...opts.paths.fallbackAuthFiles()]) {
    const resolved = path.resolve(file);
    if (seen.has(resolved)) continue;
    seen.add(resolved);
    out.push({file, legacy: path.basename(file) === '.dockercfg'});
  }
  return out;
}

function writeTarget(opts: AuthFileOptions): string {
  return opts.authfile || opts.paths.defaultAuthFile();
}

function corrupt(file: string, why: string, cause?: unknown) {
  return invalidInput(`auth file ${file} is not valid: ${why}`, cause);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The parsed file, or undefined when it does not exist. An empty file reads as no entries. */
function parseAuthFile(ref: AuthFileRef): AuthFileContents | undefined {
  let text: string;
  try {
    text = fs.readFileSync(ref.file, 'utf8');
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw invalidInput(`reading auth file ${ref.file}: ${messageOf(err)}`, err);
  }
  if (text.trim() === '') return {auths: {}};
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw corrupt(ref.file, `invalid JSON (${messageOf(err)})`, err);
  }
  if (!isObject(doc)) throw corrupt(ref.file, 'expected a JSON object');
  const contents: AuthFileContents = ref.legacy ? {auths: doc as Record<string, AuthEntry>} : {...doc, auths: {}};
  if (!ref.legacy) {
    if (doc.auths !== undefined && doc.auths !== null) {
      if (!isObject(doc.auths)) throw corrupt(ref.file, '"auths" must be an object');
      contents.auths = doc.auths as Record<string, AuthEntry>;
    }
    if (doc.credHelpers !== undefined && doc.credHelpers !== null && !isObject(doc.credHelpers)) {
      throw corrupt(ref.file, '"credHelpers" must be an object');
    }
  }
  for (const [key, entry] of Object.entries(contents.auths)) {
    if (!isObject(entry)) throw corrupt(ref.file, `entry "${key}" must be an object`);
    for (const field of ['auth', 'identitytoken'] as const) {
      if (entry[field] !== undefined && entry[field] !== null && typeof entry[field] !== 'string') {
        throw corrupt(ref.file, `entry "${key}": "${field}" must be a string`);
      }
    }
  }
  return contents;
}

/** An entry's credentials; undefined for an empty marker entry (what docker writes when a helper holds the secret). */
function decodeEntry(file: string, key: string, entry: AuthEntry): Credentials | undefined {
  if (entry.identitytoken) return {identityToken: entry.identitytoken};
  const auth = entry.auth ?? '';
  if (auth === '') return undefined;
  if (!BASE64.test(auth)) throw corrupt(file, `entry "${key}": "auth" is not valid base64`);
  const decoded = Buffer.from(auth, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon === -1) {
    log.warn(`auth file ${file}: entry "${key}" has an "auth" field without a ":" between user and password; ignoring it`);
    return undefined;
  }
  return {username: decoded.slice(0, colon), password: decoded.slice(colon + 1).replace(/^\0+|\0+$/g, '')};
}

function findInFile(ref: AuthFileRef, contents: AuthFileContents, key: string, registry: string): Credentials | undefined {
  if (isObject(contents.credHelpers) && registry in contents.credHelpers) {
    log.warn(`auth file ${ref.file}: credential helper "${String(contents.credHelpers[registry])}" for ${registry} is not supported; ignoring it`);
  }
  const candidates = ref.legacy ? [registry] : lookupOrder(key);
  for (const k of candidates) {
    const entry = contents.auths[k];
    if (entry) return decodeEntry(ref.file, k, entry);
  }
  const want = normalizeRegistry(registry);
  for (const [k, entry] of Object.entries(contents.auths)) {
    if (normalizeFileKey(k, ref.legacy) === want) return decodeEntry(ref.file, k, entry);
  }
  if (contents.credsStore !== undefined && contents.credsStore !== '') {
    log.warn(`auth file ${ref.file}: credsStore "${String(contents.credsStore)}" is not supported; ignoring it`);
  }
  return undefined;
}

// --- API ------------------------------------------------------------------------------

/**
 * Credentials for a registry host[:port], or for a repository within it
 * ("quay.io/ns/app" also finds "quay.io/ns" and "quay.io" entries).
 */
export function readCredentials(host: string, opts: AuthFileOptions): Credentials | undefined {
  const key = normalizeAuthKey(host);
  const registry = key.split('/')[0]!;
  for (const ref of readFiles(opts)) {
    const contents = parseAuthFile(ref);
    if (!contents) continue;
    const found = findInFile(ref, contents, key, registry);
    if (found) {
      log.debug(`found credentials for ${key} in ${ref.file}`);
      return found;
    }
  }
  return undefined;
}

function loadForEdit(file: string): AuthFileContents {
  return parseAuthFile({file, legacy: false}) ?? {auths: {}};
}

function store(file: string, contents: AuthFileContents): void {
  ensureDir(path.dirname(file), 0o700);
  writeFileAtomic(file, JSON.stringify(contents, null, '\t') + '\n', {mode: 0o600});
  fs.chmodSync(file, 0o600);
}

/**
 * Read-modify-write of an auth file under a flock on FILE.lock beside it, so
 * two logins (or a login and a logout) at once never lose each other's entry.
 * A leaf lock: nothing else is taken while it is held.
 */
async function editLocked<T>(file: string, fn: () => T): Promise<T> {
  ensureDir(path.dirname(file), 0o700);
  const lock = await lockFile(`${file}.lock`, {timeoutMs: 30_000});
  try {
    return fn();
  } finally {
    lock.release();
  }
}

/** Store credentials under key (normalised with normalizeAuthKey); returns the file written. */
export async function saveCredentials(key: string, creds: Credentials, opts: AuthFileOptions): Promise<string> {
  const file = writeTarget(opts);
  return editLocked(file, () => saveCredentialsLocked(file, key, creds));
}

function saveCredentialsLocked(file: string, key: string, creds: Credentials): string {
  const k = normalizeAuthKey(key);
  const contents = loadForEdit(file);
  if ('identityToken' in creds) {
    // docker's layout: the token in identitytoken, "auth" carrying "<token>:".
    contents.auths[k] = {auth: Buffer.from(`${creds.identityToken}:`).toString('base64'), identitytoken: creds.identityToken};
  } else {
    if (creds.username.includes(':')) throw invalidInput(`invalid username ${JSON.stringify(creds.username)}: must not contain ":"`);
    contents.auths[k] = {auth: Buffer.from(`${creds.username}:${creds.password}`).toString('base64')};
  }
  store(file, contents);
  return file;
}

/** Remove the entry for key from the written file; false when there was none. */
export async function removeCredentials(key: string, opts: AuthFileOptions): Promise<boolean> {
  const k = normalizeAuthKey(key);
  const file = writeTarget(opts);
  return editLocked(file, () => removeCredentialsLocked(file, k));
}

function removeCredentialsLocked(file: string, k: string): boolean {
  const contents = parseAuthFile({file, legacy: false});
  if (!contents || !(k in contents.auths)) return false;
  delete contents.auths[k];
  store(file, contents);
  return true;
}

/** Remove every entry from the written file; returns how many there were. */
export async function removeAllCredentials(opts: AuthFileOptions): Promise<number> {
  const file = writeTarget(opts);
  return editLocked(file, () => removeAllLocked(file));
}

function removeAllLocked(file: string): number {
  const contents = parseAuthFile({file, legacy: false});
  if (!contents) return 0;
  const n = Object.keys(contents.auths).length;
  contents.auths = {};
  store(file, contents);
  return n;
}

/** Every key with credentials, across the files readCredentials consults, in priority order (URL keys as hosts). */
export function listAuthKeys(opts: AuthFileOptions): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  for (const ref of readFiles(opts)) {
    const contents = parseAuthFile(ref);
    if (!contents) continue;
    for (const [k, entry] of Object.entries(contents.auths)) {
      if (!entry.auth && !entry.identitytoken) continue;
      const {rest, hadScheme} = stripScheme(k);
      const key = ref.legacy || hadScheme ? rest.split('/')[0]! : k;
      if (!seen.has(key)) {
        seen.add(key);
        out.push(key);
      }
    }
  }
  return out;
}
