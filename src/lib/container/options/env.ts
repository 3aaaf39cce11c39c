/**
 * -e/--env and --env-file with docker's semantics: "NAME=value" sets,
 * "NAME=" sets empty, a bare "NAME" copies the host's value or is dropped
 * when the host has none. An env file holds one such entry per line; blank
 * lines and lines starting with # are ignored, leading whitespace is
 * trimmed, and the value is taken verbatim (no quotes processing). Files
 * come first, then -e flags, so a flag overrides a file.
 */
import {invalidInput} from '../../util/errors';

function checkName(name: string, where: string): void {
  if (name === '') throw invalidInput(`invalid environment variable ${JSON.stringify(where)}: empty name`);
  if (/\s/.test(name)) throw invalidInput(`invalid environment variable ${JSON.stringify(where)}: name contains whitespace`);
}

/** Entries of an env file, still unresolved ("NAME" lines stay bare). */
export function parseEnvFile(text: string, file = 'env file'): string[] {
  const out: string[] = [];
  for (const [i, raw] of text.replace(/^\uFEFF/, '').split(/\r?\n/).entries()) {
    const line = raw.trimStart();
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    const name = eq < 0 ? line.trimEnd() : line.slice(0, eq);
    try {
      checkName(name, line);
    } catch (err) {
      throw invalidInput(`${file}:${i + 1}: ${(err as Error).message}`);
    }
    out.push(eq < 0 ? name : `${name}=${line.slice(eq + 1)}`);
  }
  return out;
}

/** Final NAME=value list: env files in order, then -e flags; bare names come from hostEnv. */
export function resolveEnv(flags: readonly string[], envFiles: readonly string[][], hostEnv: Readonly<Record<string, string | undefined>>): string[] {
  const env = new Map<string, string>();
  for (const entry of [...envFiles.flat(), ...flags]) {
    const eq = entry.indexOf('=');
    if (eq < 0) {
      checkName(entry, entry);
      const v = hostEnv[entry];
      if (v !== undefined) env.set(entry, v);
      continue;
    }
    const name = entry.slice(0, eq);
    checkName(name, entry);
    env.set(name, entry.slice(eq + 1));
  }
  return [...env].map(([k, v]) => `${k}=${v}`);
}
