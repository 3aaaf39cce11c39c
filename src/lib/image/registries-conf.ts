/**
 * containers-registries.conf(5), version 2, read the way containers/image's
 * sysregistriesv2 reads it:
 *
 * - One main file: the user's registries.conf when it exists (rootless),
 *   else the system one; CONTAINERS_REGISTRIES_CONF replaces both (Paths
 *   decides the list). When the user's file is used, only the user's
 *   registries.conf.d is read; otherwise the system drop-in directory, then
 *   the user's. Missing files and directories are fine.
 * - Drop-ins (*.conf, sorted by name, each directory in turn) are applied in
 *   order and the later file wins: [[registry]] tables replace those with the
 *   same prefix, unqualified-search-registries and short-name-mode replace
 *   the earlier value when present, [aliases] merge key by key (an empty
 *   value removes an alias).
 * - Within one file the first [[registry]] of a prefix wins; the merged list
 *   is sorted by prefix, and the longest matching prefix selects a registry.
 *
 * The v1 format ([registries.search], [registries.insecure],
 * [registries.block]) is rejected: convert it to v2.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {parse as parseToml, TomlError} from 'smol-toml';
import type {Paths} from '../state/paths';
import {errnoCode, invalidInput, messageOf, registryError, SkiffError} from '../util/errors';
import {log} from '../util/log';
import {
  type ImageReference,
  DEFAULT_DOMAIN,
  parseReference,
  refName,
  refString,
  resolveShortName,
  shortNameRepository,
} from './reference';

export type ShortNameMode = 'enforcing' | 'permissive' | 'disabled';
export type PullFromMirror = 'all' | 'digest-only' | 'tag-only';

export interface MirrorEntry {
  location: string;
  insecure: boolean;
  pullFromMirror: PullFromMirror;
}

export interface RegistryEntry {
  /** What references it applies to: a registry, namespace or repository, or "*.example.com". */
  prefix: string;
  /** Where matching references are pulled from; '' only with a wildcard prefix (= the reference's own host). */
  location: string;
  insecure: boolean;
  blocked: boolean;
  mirrorByDigestOnly: boolean;
  mirrors: MirrorEntry[];
}

export interface AliasEntry {
  ref: ImageReference;
  /** The file that defined it, for messages. */
  origin: string;
}

export interface RegistriesConf {
  /** Files that contributed, in the order applied. */
  files: string[];
  registries: RegistryEntry[];
  unqualifiedSearchRegistries: string[];
  /** The file that set unqualifiedSearchRegistries, if any. */
  searchRegistriesOrigin?: string;
  shortNameMode: ShortNameMode;
  aliases: Map<string, AliasEntry>;
}

export interface PullSource {
  /** host[:port] to contact (docker.io becomes registry-1.docker.io). */
  endpoint: string;
  /** Repository path on that endpoint, after prefix → location rewriting. */
  repoPath: string;
  insecure: boolean;
  mirror: boolean;
}

export const DEFAULT_SHORT_NAME_MODE: ShortNameMode = 'permissive';
export const DOCKER_IO_ENDPOINT = 'registry-1.docker.io';
const SHORT_NAME_MODES: readonly ShortNameMode[] = ['enforcing', 'permissive', 'disabled'];
const PULL_FROM_MIRROR: readonly PullFromMirror[] = ['all', 'digest-only', 'tag-only'];
const SEARCH_REGISTRY = /^(?:(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?$/;
const TOP_LEVEL_KEYS = new Set(['unqualified-search-registries', 'short-name-mode', 'registry', 'aliases', 'credential-helpers', 'additional-layer-store-auth-helper', 'registries']);
const REGISTRY_KEYS = new Set(['prefix', 'location', 'insecure', 'blocked', 'mirror-by-digest-only', 'mirror', 'pull-from-mirror']);
const MIRROR_KEYS = new Set(['location', 'insecure', 'pull-from-mirror']);

/** One file's settings; undefined fields were absent (and so do not override earlier files). */
export interface RegistriesConfFile {
  file: string;
  registries: RegistryEntry[];
  unqualifiedSearchRegistries?: string[];
  shortNameMode?: ShortNameMode;
  /** null: the alias was reset with an empty value. */
  aliases: Map<string, ImageReference | null>;
}

export function emptyRegistriesConf(): RegistriesConf {
  return {files: [], registries: [], unqualifiedSearchRegistries: [], shortNameMode: DEFAULT_SHORT_NAME_MODE, aliases: new Map()};
}

// --- loading -----------------------------------------------------------------

export function loadRegistriesConf(paths: Paths): RegistriesConf {
  const mains = paths.registriesConfFiles();
  let dirs = paths.registriesConfDropInDirs();
  let main = mains[0];
  const user = mains.length > 1 ? mains[mains.length - 1] : undefined;
  if (user !== undefined && fs.existsSync(user)) {
    main = user;
    dirs = dirs.slice(-1);
  }
  return loadRegistriesConfFiles(main, dirs);
}

/** Load one main file (may be missing) and the *.conf drop-ins of dirs, in order. */
export function loadRegistriesConfFiles(main: string | undefined, dropInDirs: string[]): RegistriesConf {
  const conf = emptyRegistriesConf();
  if (main !== undefined) {
    const text = readIfExists(main);
    if (text !== undefined) apply(conf, parseRegistriesConfText(text, main));
  }
  for (const dir of dropInDirs) {
    for (const file of dropInFiles(dir)) {
      const text = readIfExists(file);
      if (text !== undefined) apply(conf, parseRegistriesConfText(text, file));
    }
  }
  return conf;
}

function readIfExists(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw invalidInput(`reading registries configuration ${file}: ${messageOf(err)}`, err);
  }
}

function dropInFiles(dir: string): string[] {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, {withFileTypes: true});
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return [];
    throw invalidInput(`reading registries configuration directory ${dir}: ${messageOf(err)}`, err);
  }
  return entries
    .filter((e) => !e.isDirectory() && e.name.endsWith('.conf'))
    .map((e) => e.name)
    .sort()
    .map((name) => path.join(dir, name));
}

function apply(conf: RegistriesConf, update: RegistriesConfFile): void {
  conf.files.push(update.file);
  const byPrefix = new Map(conf.registries.map((r) => [r.prefix, r]));
  for (const r of update.registries) byPrefix.set(r.prefix, r);
  conf.registries = [...byPrefix.keys()].sort().map((p) => byPrefix.get(p)!);
  if (update.unqualifiedSearchRegistries !== undefined) {
    conf.unqualifiedSearchRegistries = update.unqualifiedSearchRegistries;
    conf.searchRegistriesOrigin = update.file;
  }
  if (update.shortNameMode !== undefined) conf.shortNameMode = update.shortNameMode;
  for (const [name, ref] of update.aliases) {
    if (ref === null) conf.aliases.delete(name);
    else conf.aliases.set(name, {ref, origin: update.file});
  }
}

// --- parsing one file -------------------------------------------------------------

type Table = Record<string, unknown>;

function isTable(v: unknown): v is Table {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

function tomlSyntax(file: string, err: unknown): SkiffError {
  if (err instanceof TomlError) {
    const what = err.message.replace(/^Invalid TOML document:\s*/, '').split('\n')[0];
    return invalidInput(`${file}:${err.line}:${err.column}: invalid TOML: ${what}`, err);
  }
  return invalidInput(`${file}: invalid TOML: ${messageOf(err)}`, err);
}

/** Parse and validate one registries.conf file's text. Exported for tests and `skiff info`. */
export function parseRegistriesConfText(text: string, file: string): RegistriesConfFile {
  let doc: Table;
  try {
    doc = parseToml(text) as Table;
  } catch (err) {
    throw tomlSyntax(file, err);
  }
  const bad = (msg: string): never => {
    throw invalidInput(`${file}: ${msg}`);
  };
  if ('registries' in doc) {
    bad('the v1 format ([registries.search], [registries.insecure], [registries.block]) is not supported; use v2: unqualified-search-registries = [...] and [[registry]] tables (see containers-registries.conf(5))');
  }
  for (const key of Object.keys(doc)) {
    if (!TOP_LEVEL_KEYS.has(key)) log.debug(`${file}: ignoring unknown key "${key}"`);
  }

  const str = (v: unknown, what: string): string => (typeof v === 'string' ? v : bad(`${what} must be a string`));
  const optStr = (t: Table, key: string, what: string): string | undefined => (t[key] === undefined ? undefined : str(t[key], what));
  const optBool = (t: Table, key: string, what: string): boolean => {
    const v = t[key];
    if (v === undefined) return false;
    return typeof v === 'boolean' ? v : bad(`${what} must be true or false`);
  };
  const strArray = (v: unknown, what: string): string[] => {
    if (!Array.isArray(v)) return bad(`${what} must be an array of strings`);
    return v.map((x) => str(x, `${what} entries`));
  };

  const out: RegistriesConfFile = {file, registries: [], aliases: new Map()};

  if (doc['unqualified-search-registries'] !== undefined) {
    out.unqualifiedSearchRegistries = strArray(doc['unqualified-search-registries'], 'unqualified-search-registries').map((r) => {
      const loc = parseLocation(r, 'unqualified-search-registries', bad);
      if (!SEARCH_REGISTRY.test(loc)) bad(`invalid unqualified-search-registries entry ${JSON.stringify(r)}: expected host[:port]`);
      return loc;
    });
  }

  const mode = optStr(doc, 'short-name-mode', 'short-name-mode');
  if (mode !== undefined && mode !== '') {
    if (!(SHORT_NAME_MODES as readonly string[]).includes(mode)) bad(`invalid short-name-mode ${JSON.stringify(mode)}: use enforcing, permissive or disabled`);
    out.shortNameMode = mode as ShortNameMode;
  }

  if (doc['credential-helpers'] !== undefined) {
    const helpers = strArray(doc['credential-helpers'], 'credential-helpers');
    if (helpers.some((h) => h !== 'containers-auth.json')) log.warn(`${file}: credential-helpers are not supported; only auth files are consulted`);
  }

  if (doc.registry !== undefined) {
    if (!Array.isArray(doc.registry)) bad('registry must be an array of tables ([[registry]])');
    const seen = new Set<string>();
    (doc.registry as unknown[]).forEach((raw, i) => {
      const entry = parseRegistryTable(raw, `[[registry]] #${i + 1}`, bad, optStr, optBool);
      // The first table of a prefix wins within one file (later ones are unreachable).
      if (seen.has(entry.prefix)) {
        log.debug(`${file}: ignoring duplicate [[registry]] prefix "${entry.prefix}"`);
        return;
      }
      seen.add(entry.prefix);
      out.registries.push(entry);
    });
    checkConflicts(out.registries, bad);
    out.registries.sort((a, b) => (a.prefix < b.prefix ? -1 : a.prefix > b.prefix ? 1 : 0));
  }

  if (doc.aliases !== undefined) {
    if (!isTable(doc.aliases)) bad('[aliases] must be a table of "short-name" = "registry/repository"');
    for (const [name, value] of Object.entries(doc.aliases as Table)) {
      const v = str(value, `alias "${name}"`);
      validateAliasName(name, bad);
      out.aliases.set(name, v === '' ? null : parseAliasValue(name, v, bad));
    }
  }
  return out;
}

type Bad = (msg: string) => never;

function parseLocation(input: string, what: string, bad: Bad): string {
  const trimmed = input.replace(/\/+$/, '');
  if (/^https?:\/\//.test(trimmed)) bad(`invalid ${what} "${input}": URI schemes are not supported, give host[:port][/path]`);
  return trimmed;
}

function parseRegistryTable(
  raw: unknown,
  where: string,
  bad: Bad,
  optStr: (t: Table, key: string, what: string) => string | undefined,
  optBool: (t: Table, key: string, what: string) => boolean,
): RegistryEntry {
  if (!isTable(raw)) bad(`${where} must be a table`);
  const t = raw as Table;
  for (const key of Object.keys(t)) if (!REGISTRY_KEYS.has(key)) log.debug(`${where}: ignoring unknown key "${key}"`);
  const location = parseLocation(optStr(t, 'location', `${where} location`) ?? '', 'location', bad);
  let prefix = optStr(t, 'prefix', `${where} prefix`) ?? '';
  if (prefix === '') {
    if (location === '') bad(`${where}: set location (and optionally prefix)`);
    prefix = location;
  } else {
    prefix = parseLocation(prefix, 'prefix', bad);
    if (prefix.startsWith('*.')) {
      if (/[/@:]/.test(prefix)) bad(`${where}: wildcard prefix "${prefix}" must have the form *.example.com (no port, path, tag or digest)`);
    } else if (location === '') {
      bad(`${where}: location is unset and prefix "${prefix}" is not a wildcard (*.example.com)`);
    }
  }
  const label = `${where} (prefix "${prefix}")`;
  if (t['pull-from-mirror'] !== undefined) bad(`${label}: pull-from-mirror applies to [[registry.mirror]] entries, not to the registry itself`);
  const mirrorByDigestOnly = optBool(t, 'mirror-by-digest-only', `${label} mirror-by-digest-only`);
  const mirrors: MirrorEntry[] = [];
  if (t.mirror !== undefined) {
    if (!Array.isArray(t.mirror)) bad(`${label}: mirror must be an array of tables ([[registry.mirror]])`);
    (t.mirror as unknown[]).forEach((m, j) => {
      const mwhere = `${label} mirror #${j + 1}`;
      if (!isTable(m)) bad(`${mwhere} must be a table`);
      const mt = m as Table;
      for (const key of Object.keys(mt)) if (!MIRROR_KEYS.has(key)) log.debug(`${mwhere}: ignoring unknown key "${key}"`);
      const mloc = parseLocation(optStr(mt, 'location', `${mwhere} location`) ?? '', 'mirror location', bad);
      if (mloc === '') bad(`${mwhere}: location is unset`);
      const pfm = optStr(mt, 'pull-from-mirror', `${mwhere} pull-from-mirror`) ?? '';
      if (pfm !== '' && !(PULL_FROM_MIRROR as readonly string[]).includes(pfm)) {
        bad(`${mwhere}: unsupported pull-from-mirror ${JSON.stringify(pfm)}: use all, digest-only or tag-only`);
      }
      if (pfm !== '' && mirrorByDigestOnly) bad(`${mwhere}: pull-from-mirror cannot be combined with the registry's mirror-by-digest-only`);
      mirrors.push({location: mloc, insecure: optBool(mt, 'insecure', `${mwhere} insecure`), pullFromMirror: (pfm || 'all') as PullFromMirror});
    });
  }
  return {
    prefix,
    location,
    insecure: optBool(t, 'insecure', `${label} insecure`),
    blocked: optBool(t, 'blocked', `${label} blocked`),
    mirrorByDigestOnly,
    mirrors,
  };
}

/** The same location listed twice must agree on insecure and blocked. */
function checkConflicts(entries: RegistryEntry[], bad: Bad): void {
  const byLocation = new Map<string, RegistryEntry>();
  for (const r of entries) {
    const key = r.location || r.prefix;
    const other = byLocation.get(key);
    if (!other) {
      byLocation.set(key, r);
      continue;
    }
    if (other.insecure !== r.insecure) bad(`registry "${key}" is defined multiple times with conflicting "insecure" settings`);
    if (other.blocked !== r.blocked) bad(`registry "${key}" is defined multiple times with conflicting "blocked" settings`);
  }
}

function validateAliasName(name: string, bad: Bad): void {
  let parsed;
  try {
    parsed = parseReference(name);
  } catch (err) {
    return bad(`invalid short-name alias "${name}": ${messageOf(err)}`);
  }
  if (!parsed.shortName) bad(`invalid short-name alias "${name}": the name must not contain a registry`);
  if (parsed.ref.tag !== undefined || parsed.ref.digest !== undefined) bad(`invalid short-name alias "${name}": the name must not contain a tag or digest`);
}

function parseAliasValue(name: string, value: string, bad: Bad): ImageReference {
  let parsed;
  try {
    parsed = parseReference(value);
  } catch (err) {
    return bad(`alias "${name}": ${messageOf(err)}`);
  }
  if (parsed.shortName || value.startsWith('docker://')) bad(`alias "${name}" = "${value}": the value must name a registry and repository`);
  if (parsed.ref.tag !== undefined || parsed.ref.digest !== undefined) bad(`alias "${name}" = "${value}": the value must not contain a tag or digest`);
  return parsed.ref;
}

// --- lookups ---------------------------------------------------------------------

/** Length of the part of s matched by prefix, or -1 (containers/image's refMatchingPrefix). */
export function prefixMatchLength(s: string, prefix: string): number {
  if (prefix.startsWith('*.')) {
    const suffix = prefix.slice(1);
    const at = s.indexOf(suffix);
    if (at === -1 || s.slice(0, at).includes('/')) return -1;
    const end = at + suffix.length;
    if (end === s.length || ':/@'.includes(s[end]!)) return end;
    return -1;
  }
  if (s.length < prefix.length || !s.startsWith(prefix)) return -1;
  if (s.length === prefix.length || ':/@'.includes(s[prefix.length]!)) return prefix.length;
  return -1;
}

function findFor(conf: RegistriesConf, s: string): RegistryEntry | undefined {
  let best: RegistryEntry | undefined;
  for (const r of conf.registries) {
    if (prefixMatchLength(s, r.prefix) !== -1 && (!best || r.prefix.length > best.prefix.length)) best = r;
  }
  return best;
}

/** The [[registry]] whose prefix is the longest match for the reference's name (or a host/name string). */
export function findRegistry(conf: RegistriesConf, ref: ImageReference | string): RegistryEntry | undefined {
  return findFor(conf, typeof ref === 'string' ? ref : refName(ref));
}

/** The API host for a registry domain: docker.io is served by registry-1.docker.io. */
export function apiEndpoint(domain: string): string {
  return domain === DEFAULT_DOMAIN ? DOCKER_IO_ENDPOINT : domain;
}

function rewrite(ref: ImageReference, prefix: string, location: string): ImageReference {
  const s = refString(ref);
  const n = prefixMatchLength(s, prefix);
  if (n === -1) throw invalidInput(`registries.conf prefix "${prefix}" does not match "${s}"`);
  if (location === '') return ref;
  const target = location + s.slice(n);
  let parsed;
  try {
    parsed = parseReference(target);
  } catch (err) {
    throw invalidInput(`rewriting "${s}" to location "${location}": ${messageOf(err)}`, err);
  }
  if (refString(parsed.ref) !== target || target.startsWith('docker://')) {
    throw invalidInput(`rewriting "${s}" to location "${location}" gives "${target}", which is not a fully qualified reference`);
  }
  return parsed.ref;
}

/**
 * Where to pull ref from, in order: the mirrors that apply (mirror-by-digest-
 * only / pull-from-mirror decide by whether ref has a digest), then the
 * primary location. Throws when the registry is blocked; mirrors that are
 * themselves blocked are skipped.
 */
export function pullSources(conf: RegistriesConf, ref: ImageReference): PullSource[] {
  const reg = findRegistry(conf, ref);
  if (!reg) return [{endpoint: apiEndpoint(ref.domain), repoPath: ref.path, insecure: false, mirror: false}];
  if (reg.blocked) {
    const where = conf.files.length ? ` (${conf.files.join(', ')})` : '';
    throw registryError(`registry "${reg.prefix}" is blocked in registries.conf${where}`);
  }
  const digested = ref.digest !== undefined;
  const out: PullSource[] = [];
  for (const m of reg.mirrors) {
    if (reg.mirrorByDigestOnly && !digested) continue;
    if (m.pullFromMirror === 'digest-only' && !digested) continue;
    if (m.pullFromMirror === 'tag-only' && digested) continue;
    const r = rewrite(ref, reg.prefix, m.location);
    if (findRegistry(conf, r)?.blocked) {
      log.warn(`skipping mirror "${m.location}" for ${refString(ref)}: it is blocked in registries.conf`);
      continue;
    }
    out.push({endpoint: apiEndpoint(r.domain), repoPath: r.path, insecure: m.insecure, mirror: true});
  }
  const primary = rewrite(ref, reg.prefix, reg.location);
  out.push({endpoint: apiEndpoint(primary.domain), repoPath: primary.path, insecure: reg.insecure, mirror: false});
  return out;
}

/** Whether the registry serving host[:port] is marked insecure (for login, search and push). */
export function isInsecureHost(conf: RegistriesConf, host: string): boolean {
  return findRegistry(conf, host)?.insecure ?? false;
}

/**
 * Short-name resolution inputs: a qualified input is itself; a short name
 * with an [aliases] entry resolves to the alias (keeping the input's tag and
 * digest); otherwise one candidate per unqualified-search registry.
 */
export function shortNameCandidates(conf: RegistriesConf, input: string): {candidates: ImageReference[]; alias?: AliasEntry} {
  const parsed = parseReference(input);
  if (!parsed.shortName) return {candidates: [parsed.ref]};
  const alias = conf.aliases.get(shortNameRepository(input));
  if (alias) {
    const ref: ImageReference = {domain: alias.ref.domain, path: alias.ref.path};
    if (parsed.ref.tag !== undefined) ref.tag = parsed.ref.tag;
    if (parsed.ref.digest !== undefined) ref.digest = parsed.ref.digest;
    return {candidates: [ref], alias};
  }
  return {candidates: resolveShortName(input, conf.unqualifiedSearchRegistries)};
}
