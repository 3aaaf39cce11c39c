/**
 * Typed errors for the engine. lib code throws these; the CLI's base command
 * maps them to exit codes in exactly one place (src/cli/exit-code.ts), so no
 * caller ever matches on message text.
 *
 * Messages are one line, lowercase, and name the object (and path) involved,
 * following podman's "Error: ..." convention; the CLI adds the prefix.
 */

export type ErrorKind =
  | 'internal'
  | 'invalid-input'
  | 'not-found'
  | 'conflict'
  | 'registry'
  | 'auth'
  | 'digest-mismatch'
  | 'unpack'
  | 'lock-timeout'
  | 'unsupported'
  | 'storage'
  | 'cannot-invoke' // container command exists but cannot be executed (126)
  | 'command-not-found'; // container command does not exist (127)

export class SkiffError extends Error {
  readonly kind: ErrorKind;
  readonly detail?: string;

  constructor(kind: ErrorKind, message: string, options?: {cause?: unknown; detail?: string}) {
    super(message, options?.cause === undefined ? undefined : {cause: options.cause});
    this.name = 'SkiffError';
    this.kind = kind;
    this.detail = options?.detail;
  }
}

export const invalidInput = (msg: string, cause?: unknown) => new SkiffError('invalid-input', msg, {cause});
export const notFound = (msg: string, cause?: unknown) => new SkiffError('not-found', msg, {cause});
export const conflict = (msg: string, cause?: unknown) => new SkiffError('conflict', msg, {cause});
export const unsupported = (msg: string, cause?: unknown) => new SkiffError('unsupported', msg, {cause});
export const registryError = (msg: string, cause?: unknown) => new SkiffError('registry', msg, {cause});
export const authError = (msg: string, cause?: unknown) => new SkiffError('auth', msg, {cause});
export const digestMismatch = (msg: string) => new SkiffError('digest-mismatch', msg);
export const unpackError = (msg: string, cause?: unknown) => new SkiffError('unpack', msg, {cause});
export const storageError = (msg: string, cause?: unknown) => new SkiffError('storage', msg, {cause});

export function isSkiffError(err: unknown, kind?: ErrorKind): err is SkiffError {
  return err instanceof SkiffError && (kind === undefined || err.kind === kind);
}

/** errno code of a Node system error, if any ("ENOENT", ...). */
export function errnoCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err && typeof (err as {code: unknown}).code === 'string'
    ? (err as {code: string}).code
    : undefined;
}

/** One-line message for any thrown value. */
export function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message.split('\n')[0] || err.name;
  return String(err);
}
