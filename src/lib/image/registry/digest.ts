/**
 * Content digests ("sha256:<hex>"): validation and hashing with the
 * algorithm the digest names.
 */
import {createHash, type Hash} from 'node:crypto';
import {invalidInput, unsupported} from '../../util/errors';

const HEX_LEN: Record<string, number> = {sha256: 64, sha512: 128};

export function isDigest(s: string): boolean {
  return /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/.test(s);
}

/** A hash for the digest's algorithm; throws on a malformed or unsupported digest. */
export function hasherFor(digest: string): {algorithm: string; hex: string; hash: Hash} {
  if (!isDigest(digest)) throw invalidInput(`invalid digest "${digest}"`);
  const [algorithm, hex] = digest.split(':', 2);
  const len = HEX_LEN[algorithm];
  if (len === undefined) throw unsupported(`digest algorithm ${algorithm} is not supported (${digest})`);
  if (hex.length !== len || !/^[a-f0-9]+$/.test(hex)) throw invalidInput(`invalid digest "${digest}"`);
  return {algorithm, hex, hash: createHash(algorithm)};
}

export function sha256Digest(bytes: Buffer): string {
  return 'sha256:' + createHash('sha256').update(bytes).digest('hex');
}
