/**
 * --label KEY[=VALUE] (a bare key gets an empty value) and --label-file
 * lines (comments and blank lines skipped). Later entries win; files first.
 */
import {invalidInput} from '../../util/errors';

export function parseLabelFile(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

export function parseLabels(flags: readonly string[], labelFiles: readonly string[][] = []): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of [...labelFiles.flat(), ...flags]) {
    const eq = entry.indexOf('=');
    const key = (eq < 0 ? entry : entry.slice(0, eq)).trim();
    if (key === '') throw invalidInput(`invalid label "${entry}": empty name`);
    out[key] = eq < 0 ? '' : entry.slice(eq + 1);
  }
  return out;
}
