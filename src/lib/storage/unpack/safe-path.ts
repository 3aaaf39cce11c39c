/**
 * Lexical path rules for member names (and hardlink targets). They decide
 * where inside the layer root a name points, before the filesystem is
 * consulted; symlinks already on disk are scoped-resolved separately
 * (scoped-resolve.ts).
 */
import {entryError} from './entry-error';

/**
 * Absolute names ("/etc/passwd", "//x") are made relative to the layer root
 * by dropping the leading slashes, as GNU tar (without -P) and docker do:
 * the entry lands inside dest, never at the host path.
 */
export function stripAbsolute(name: string): string {
  let i = 0;
  while (i < name.length && name.charCodeAt(i) === 0x2f) i++;
  return i === 0 ? name : name.slice(i);
}

/**
 * Splits a relative name into clean components, folding "." and "x/.."
 * (filepath.Clean semantics). Returns undefined when a ".." would climb above
 * the root: such names escape the layer and are rejected, never clamped.
 */
export function cleanComponents(rel: string): string[] | undefined {
  const out: string[] = [];
  for (const c of rel.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') {
      if (out.length === 0) return undefined;
      out.pop();
    } else {
      out.push(c);
    }
  }
  return out;
}

/** Both rules for a member name: strip the leading "/", reject ".." escapes. [] is the layer root itself. */
export function entryComponents(name: string): string[] {
  const comps = cleanComponents(stripAbsolute(name));
  if (comps === undefined) throw entryError(name, 'path escapes the layer root');
  return comps;
}
