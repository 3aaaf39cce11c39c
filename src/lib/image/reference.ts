/**
 * Image references: the docker/distribution grammar with podman's
 * normalisation (containers/image's fork of docker/reference).
 *
 *   reference  := name [ ":" tag ] [ "@" digest ]
 *   name       := [ domain "/" ] component ( "/" component )*
 *   domain     := host [ ":" port ]            host: DNS labels or [ipv6]
 *   component  := [a-z0-9]+ ( ( "." | "_" | "__" | "-"+ ) [a-z0-9]+ )*
 *   tag        := [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
 *   digest     := algorithm ":" hex             (see parseDigest)
 *
 * The first path component is a domain only when it contains "." or ":" or
 * is "localhost"; otherwise the name is a short name and normalises to
 * docker.io, where single-component names gain "library/". "index.docker.io"
 * is spelled "docker.io". The normalised name (domain/path) is at most 255
 * characters. No default tag is applied here (see withDefaultTag).
 *
 * Pure functions only: no I/O, errors are SkiffError('invalid-input').
 */
import {invalidInput} from '../util/errors';

export interface ImageReference {
  /** Registry host[:port]: 'docker.io', 'localhost:5000', '127.0.0.1:5000', '[::1]:5000'. */
  domain: string;
  /** Repository path inside the registry: 'library/busybox'. */
  path: string;
  tag?: string;
  digest?: string;
}

export interface ParsedReference {
  ref: ImageReference;
  /** True when the input named no registry, so it is subject to short-name resolution. */
  shortName: boolean;
}

export const DEFAULT_DOMAIN = 'docker.io';
export const LEGACY_DEFAULT_DOMAIN = 'index.docker.io';
export const OFFICIAL_REPO_PREFIX = 'library/';
export const DEFAULT_TAG = 'latest';
export const NAME_TOTAL_LENGTH_MAX = 255;

const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOMAIN_LABEL = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN = new RegExp(`^(?:${DOMAIN_LABEL}(?:\\.${DOMAIN_LABEL})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?$`);
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
/** The digest part the reference grammar admits (distribution's digestPat). */
const REFERENCE_DIGEST = /^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$/;
/** OCI image-spec descriptor digest grammar. */
const OCI_ALGORITHM = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*$/;
const OCI_ENCODED = /^[a-zA-Z0-9=_-]+$/;
/** Registered algorithms: their encoded part is lowercase hex of a fixed length. */
const REGISTERED_ALGORITHMS: Record<string, number> = {sha256: 64, sha384: 96, sha512: 128, blake3: 64};
const IMAGE_ID = /^[a-f0-9]{64}$/;
/** containers-transports(5) names with the "name:" syntax that skiff does not implement. */
const OTHER_TRANSPORTS = ['containers-storage', 'dir', 'docker-archive', 'docker-daemon', 'oci', 'oci-archive', 'ostree', 'sif', 'tarball'];
const URL_SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//;

/** Quote user input for a one-line message: escapes control characters, bounds the length. */
function q(s: string): string {
  return JSON.stringify(s.length > 120 ? s.slice(0, 120) + '…' : s);
}

// --- digests -------------------------------------------------------------------

export interface Digest {
  algorithm: string;
  hex: string;
}

function digestProblem(s: string): string | undefined {
  const colon = s.indexOf(':');
  if (colon <= 0) return 'must be "algorithm:encoded", e.g. sha256:<64 hex digits>';
  const algorithm = s.slice(0, colon);
  const encoded = s.slice(colon + 1);
  const want = REGISTERED_ALGORITHMS[algorithm];
  if (want !== undefined) {
    if (!/^[a-f0-9]*$/.test(encoded)) return `${algorithm} digests must be lowercase hexadecimal`;
    if (encoded.length !== want) return `${algorithm} digests need ${want} hex digits, got ${encoded.length}`;
    return undefined;
  }
  if (!OCI_ALGORITHM.test(algorithm)) return `invalid algorithm ${q(algorithm)}`;
  if (!OCI_ENCODED.test(encoded)) return 'invalid encoded part';
  return undefined;
}

/**
 * Parse "algorithm:encoded". Registered algorithms (sha256, sha384, sha512,
 * blake3) need lowercase hex of their exact length; any other algorithm must
 * follow the OCI descriptor grammar (verification is then the caller's
 * business: it may not know the algorithm).
 */
export function parseDigest(s: string): Digest {
  const problem = digestProblem(s);
  if (problem) throw invalidInput(`invalid digest ${q(s)}: ${problem}`);
  const colon = s.indexOf(':');
  return {algorithm: s.slice(0, colon), hex: s.slice(colon + 1)};
}

export function isDigest(s: string): boolean {
  return digestProblem(s) === undefined;
}

// --- references ---------------------------------------------------------------

function fail(input: string, why: string): never {
  throw invalidInput(`invalid reference ${q(input)}: ${why}`);
}

/**
 * Strip a "docker://" transport; reject the other transports podman knows
 * (and any URL scheme) with a message that says so, rather than the puzzling
 * "invalid reference format" they would otherwise produce.
 */
function stripTransport(input: string): {rest: string; transport: boolean} {
  const scheme = URL_SCHEME.exec(input);
  if (scheme) {
    if (scheme[1] === 'docker') return {rest: input.slice(scheme[0].length), transport: true};
    throw invalidInput(`unsupported transport ${q(scheme[1]!)} in ${q(input)}: only registry references (optionally docker://) are supported`);
  }
  const colon = input.indexOf(':');
  if (colon > 0 && OTHER_TRANSPORTS.includes(input.slice(0, colon)) && colon + 1 < input.length) {
    throw invalidInput(`unsupported transport ${q(input.slice(0, colon))} in ${q(input)}: only registry references (optionally docker://) are supported`);
  }
  return {rest: input, transport: false};
}

export function parseReference(input: string): ParsedReference {
  if (input === '') fail(input, 'repository name must have at least one component');
  const {rest: s, transport} = stripTransport(input);
  if (s === '') fail(input, 'repository name must have at least one component');
  if (IMAGE_ID.test(s)) fail(input, 'cannot specify 64-byte hexadecimal strings as a repository name');

  // "@" appears nowhere but before the digest; ":" after the last "/" of what
  // remains is the tag separator (a name's only ":" is a domain's port).
  let rest = s;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    const problem = REFERENCE_DIGEST.test(digest) ? digestProblem(digest) : 'must be "algorithm:hex" with at least 32 hex digits';
    if (problem) fail(input, `invalid digest ${q(digest)}: ${problem}`);
  }
  let tag: string | undefined;
  const colon = rest.indexOf(':', rest.lastIndexOf('/') + 1);
  if (colon >= 0) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) {
      fail(input, `invalid tag ${q(tag)}: a tag is 1 to 128 letters, digits, "_", "." or "-", not starting with "." or "-"`);
    }
  }
  if (rest === '') fail(input, 'repository name must have at least one component');

  let domain = DEFAULT_DOMAIN;
  let path = rest;
  let shortName = !transport;
  const slash = rest.indexOf('/');
  if (slash >= 0) {
    const first = rest.slice(0, slash);
    if (first === 'localhost' || /[.:]/.test(first)) {
      domain = first;
      path = rest.slice(slash + 1);
      shortName = false;
    }
  }
  if (!DOMAIN.test(domain)) fail(input, `invalid registry ${q(domain)}: expected host[:port]`);
  if (domain === LEGACY_DEFAULT_DOMAIN) domain = DEFAULT_DOMAIN;
  if (path.toLowerCase() !== path) fail(input, 'repository name must be lowercase');
  for (const component of path.split('/')) {
    if (component === '') fail(input, 'repository name has an empty path component');
    if (!PATH_COMPONENT.test(component)) {
      fail(input, `invalid repository name component ${q(component)}: use lowercase letters and digits separated by ".", "_", "__" or "-"`);
    }
  }
  if (domain === DEFAULT_DOMAIN && !path.includes('/')) path = OFFICIAL_REPO_PREFIX + path;
  if (domain.length + 1 + path.length > NAME_TOTAL_LENGTH_MAX) {
    fail(input, `repository name must not be more than ${NAME_TOTAL_LENGTH_MAX} characters`);
  }

  const ref: ImageReference = {domain, path};
  if (tag !== undefined) ref.tag = tag;
  if (digest !== undefined) ref.digest = digest;
  return {ref, shortName};
}

/** 'domain/path', e.g. 'docker.io/library/busybox'. */
export function refName(ref: ImageReference): string {
  return `${ref.domain}/${ref.path}`;
}

/** The full canonical string: name[:tag][@digest]. parseReference(refString(r)).ref equals r. */
export function refString(ref: ImageReference): string {
  let s = refName(ref);
  if (ref.tag !== undefined) s += `:${ref.tag}`;
  if (ref.digest !== undefined) s += `@${ref.digest}`;
  return s;
}

/** The reference with tag 'latest' when it names neither a tag nor a digest. */
export function withDefaultTag(ref: ImageReference): ImageReference {
  if (ref.tag !== undefined || ref.digest !== undefined) return {...ref};
  return {...ref, tag: DEFAULT_TAG};
}

/** docker's short display form: 'busybox' for docker.io/library/busybox, 'user/app' for docker.io/user/app. */
export function familiarName(ref: ImageReference): string {
  if (ref.domain !== DEFAULT_DOMAIN) return refName(ref);
  const rest = ref.path.slice(OFFICIAL_REPO_PREFIX.length);
  if (ref.path.startsWith(OFFICIAL_REPO_PREFIX) && !rest.includes('/')) return rest;
  return ref.path;
}

/** familiarName plus tag and digest. */
export function familiarString(ref: ImageReference): string {
  let s = familiarName(ref);
  if (ref.tag !== undefined) s += `:${ref.tag}`;
  if (ref.digest !== undefined) s += `@${ref.digest}`;
  return s;
}

/**
 * Candidates for a short name, in search order: the input qualified with
 * each search registry (as containers/image does, by parsing
 * "registry/input", so docker.io gains library/). A qualified input yields
 * just itself; duplicates are dropped. An empty list means nowhere to look.
 */
export function resolveShortName(input: string, searchRegistries: string[]): ImageReference[] {
  const parsed = parseReference(input);
  if (!parsed.shortName) return [parsed.ref];
  const seen = new Set<string>();
  const out: ImageReference[] = [];
  for (const registry of searchRegistries) {
    const candidate = parseReference(`${registry}/${input}`).ref;
    const key = refString(candidate);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(candidate);
  }
  return out;
}

/** The repository part of a short name as typed ('busybox', 'fedora/httpd'), for alias lookups. */
export function shortNameRepository(input: string): string {
  const at = input.indexOf('@');
  let s = at >= 0 ? input.slice(0, at) : input;
  const colon = s.indexOf(':', s.lastIndexOf('/') + 1);
  if (colon >= 0) s = s.slice(0, colon);
  return s;
}
