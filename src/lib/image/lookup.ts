/**
 * Finding a local image from what a user typed: a full or prefix ID, a full
 * name, a short name ("busybox" finds localhost/busybox:latest, then the
 * search registries' copies, then any registry's busybox:latest), or a name
 * with a digest. Pure over a list of records.
 */
import type {ImageRecord} from './store';
import {parseReference, refName, refString, withDefaultTag, type ImageReference} from './reference';
import {invalidInput, notFound, SkiffError} from '../util/errors';

const HEX = /^(?:sha256:)?([0-9a-f]{3,64})$/;

export interface LookupOptions {
  /** unqualified-search-registries, in order; a function is called only for a short name (reading registries.conf costs a TOML parse). */
  searchRegistries?: string[] | (() => string[]);
}

/** Split "name[:tag][@digest]" of a short name into its repository part. */
function shortRepo(input: string): string {
  let s = input.replace(/^docker:\/\//, '');
  const at = s.indexOf('@');
  if (at >= 0) s = s.slice(0, at);
  const colon = s.lastIndexOf(':');
  if (colon > s.lastIndexOf('/')) s = s.slice(0, colon);
  return s;
}

function nameParts(name: string): {domain: string; path: string; tag: string} {
  const slash = name.indexOf('/');
  const domain = name.slice(0, slash);
  const rest = name.slice(slash + 1);
  const colon = rest.lastIndexOf(':');
  return {domain, path: rest.slice(0, colon), tag: rest.slice(colon + 1)};
}

export function findById(images: ImageRecord[], input: string): ImageRecord | undefined {
  const m = HEX.exec(input);
  if (!m) return undefined;
  const hex = m[1];
  const hits = images.filter((i) => i.id.startsWith(hex));
  if (hits.length > 1 && hex.length < 64) throw new SkiffError('conflict', `image ID prefix "${hex}" is ambiguous: matches ${hits.length} images`);
  return hits[0];
}

/** Returns the record or undefined; throws only on malformed input or ambiguity. */
export function findImage(images: ImageRecord[], input: string, opts: LookupOptions = {}): ImageRecord | undefined {
  if (!input) throw invalidInput('image name must not be empty');
  const byId = findById(images, input);
  if (byId) return byId;
  let parsed: {ref: ImageReference; shortName: boolean};
  try {
    parsed = parseReference(input);
  } catch (err) {
    if (HEX.test(input)) return undefined;
    throw err;
  }
  const {ref, shortName} = parsed;
  if (ref.digest) {
    const want = `${refName(ref)}@${ref.digest}`;
    const exact = images.find((i) => i.repoDigests.includes(want) || (i.digest === ref.digest && i.repoDigests.some((d) => d.startsWith(refName(ref) + '@'))));
    if (exact || !shortName) return exact;
    const repo = shortRepo(input);
    return images.find((i) => (i.digest === ref.digest || i.manifestDigest === ref.digest) && i.repoDigests.some((d) => {
      const p = d.slice(d.indexOf('/') + 1, d.indexOf('@'));
      return p === repo || p === `library/${repo}`;
    }));
  }
  const full = refString(withDefaultTag(ref));
  const exact = images.find((i) => i.names.includes(full));
  if (exact || !shortName) return exact;
  // Short name: localhost first, then the search registries, then any registry.
  const repo = shortRepo(input);
  const tag = withDefaultTag(ref).tag!;
  const candidates: Array<{img: ImageRecord; domain: string}> = [];
  for (const img of images) {
    for (const n of img.names) {
      const p = nameParts(n);
      if (p.tag !== tag || (p.path !== repo && !(p.domain === 'docker.io' && p.path === `library/${repo}`))) continue;
      candidates.push({img, domain: p.domain});
    }
  }
  if (candidates.length === 0) return undefined;
  // localhost ranks first: only when it has no match are the search registries (registries.conf) read.
  const local = candidates.find((c) => c.domain === 'localhost');
  if (local) return local.img;
  const search = typeof opts.searchRegistries === 'function' ? opts.searchRegistries() : opts.searchRegistries;
  const order = search ?? [];
  const rank = (d: string) => {
    const r = order.indexOf(d);
    return r < 0 ? order.length : r;
  };
  // A stable sort: among equal ranks, the first image in store order wins (as before).
  candidates.sort((a, b) => rank(a.domain) - rank(b.domain));
  return candidates[0].img;
}

export function getImage(images: ImageRecord[], input: string, opts: LookupOptions = {}): ImageRecord {
  const img = findImage(images, input, opts);
  if (!img) throw notFound(`${input}: image not known`);
  return img;
}
