import {SkiffError, type ErrorKind} from '../lib/util/errors';

/**
 * Exit codes, podman/docker conventions (podman libpod/define/exec_codes.go):
 * 125 the engine failed, 126 the container command cannot be invoked,
 * 127 it was not found. Decided here and nowhere else.
 */
const CODES: Record<ErrorKind, number> = {
  internal: 125,
  'invalid-input': 125,
  'not-found': 125,
  conflict: 125,
  registry: 125,
  auth: 125,
  'digest-mismatch': 125,
  unpack: 125,
  'lock-timeout': 125,
  unsupported: 125,
  storage: 125,
  'cannot-invoke': 126,
  'command-not-found': 127,
};

export function exitCodeFor(err: unknown): number {
  if (err instanceof SkiffError) return CODES[err.kind];
  return 125;
}
