import {unpackError, type SkiffError} from '../../util/errors';

/**
 * The one error shape of the extractor: `layer entry "<name>": <reason>`.
 * The name is JSON-quoted so control characters in a hostile name cannot
 * break the one-line message.
 */
export function entryError(name: string, reason: string, cause?: unknown): SkiffError {
  return unpackError(`layer entry ${JSON.stringify(name)}: ${reason}`, cause);
}
