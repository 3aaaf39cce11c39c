/**
 * Rendering of command results: podman's default tables, --format json, and
 * Go templates. (Go templates arrive with src/lib/util/gotemplate.)
 */
import {invalidInput} from '../lib/util/errors';

export function renderOne(data: unknown, format: string): string {
  if (format === 'json') return JSON.stringify(data, null, 4);
  throw invalidInput(`unsupported --format "${format}"`);
}
