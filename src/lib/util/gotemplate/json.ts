/**
 * JSON the way Go's encoding/json writes it: nil as null, Map keys sorted,
 * byte arrays as base64, U+2028/U+2029 always escaped, and <, >, &
 * escaped only when HTML escaping is on (podman turns it off for
 * inspect and the template `json` function).
 */

export interface GoJsonOptions {
  /** Indent per level ("" for compact output). */
  indent?: string;
  /** Escape <, > and & as \u003c, \u003e, \u0026 (json.Marshal's default). */
  escapeHtml?: boolean;
}

function replacer(this: unknown, _key: string, value: unknown): unknown {
  if (value === undefined) return null;
  if (typeof value === 'bigint') return Number(value);
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (value instanceof Map) {
    const entries = [...value.entries()].map(([k, v]) => [String(k), v] as const);
    entries.sort(([a], [b]) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    return Object.fromEntries(entries);
  }
  return value;
}

export function toGoJson(value: unknown, opts: GoJsonOptions = {}): string {
  const text = JSON.stringify(value, replacer, opts.indent ?? '') ?? 'null';
  // These characters can only occur inside string literals, so a global
  // replacement cannot touch the JSON structure.
  let out = text.replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
  if (opts.escapeHtml) out = out.replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026');
  return out;
}
