/**
 * Go literal syntax: interpreted strings ("a\tb"), raw strings (`a\tb`),
 * character constants ('x') and number literals (0x1F, 1_000, 017, 1e3).
 * Each returns undefined for syntax Go would reject.
 */

const SIMPLE_ESCAPES: Record<string, string> = {
  a: '\x07',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
  '\\': '\\',
};

/** Decodes the body of a Go quoted literal; `quote` is the delimiter that may be escaped. */
function unescape(body: string, quote: string): string | undefined {
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c === quote || c === '\n') return undefined;
    if (c !== '\\') {
      out += c;
      continue;
    }
    const e = body[++i];
    if (e === undefined) return undefined;
    if (e in SIMPLE_ESCAPES) out += SIMPLE_ESCAPES[e];
    else if (e === quote) out += quote;
    else {
      const spec = {x: [2, 16], u: [4, 16], U: [8, 16]}[e as 'x' | 'u' | 'U'];
      const [len, radix] = spec ?? (/[0-7]/.test(e) ? [3, 8] : [0, 0]);
      if (!len) return undefined;
      const digits = spec ? body.slice(i + 1, i + 1 + len) : body.slice(i, i + len);
      const re = radix === 16 ? /^[0-9a-fA-F]+$/ : /^[0-7]+$/;
      if (digits.length !== len || !re.test(digits)) return undefined;
      const cp = parseInt(digits, radix);
      if (cp > 0x10ffff || (radix === 8 && cp > 255) || (cp >= 0xd800 && cp < 0xe000 && e !== 'x' && radix !== 8)) return undefined;
      out += String.fromCodePoint(cp);
      i += spec ? len : len - 1;
    }
  }
  return out;
}

/** Value of a Go string literal token ("..." or `...`). */
export function unquoteString(token: string): string | undefined {
  if (token.length < 2) return undefined;
  const q = token[0];
  if (token[token.length - 1] !== q) return undefined;
  const body = token.slice(1, -1);
  if (q === '`') return body.includes('`') ? undefined : body.replace(/\r/g, '');
  if (q === '"') return unescape(body, '"');
  return undefined;
}

/** Code point of a Go character constant ('a', '\n', '\u00e9'). */
export function unquoteChar(token: string): number | undefined {
  if (token.length < 3 || token[0] !== "'" || token[token.length - 1] !== "'") return undefined;
  const s = unescape(token.slice(1, -1), "'");
  if (s === undefined) return undefined;
  const chars = Array.from(s);
  return chars.length === 1 ? chars[0].codePointAt(0) : undefined;
}

/** Numeric value of a Go number literal. Imaginary literals are not supported. */
export function parseNumber(text: string): number | undefined {
  let s = text;
  let sign = 1;
  if (s[0] === '+' || s[0] === '-') {
    if (s[0] === '-') sign = -1;
    s = s.slice(1);
  }
  if (s.endsWith('i')) return undefined;
  if (/(^_|_$|__|_\.|\._|[eEpP]_)/.test(s.replace(/^0[xXbBoO]_/, '0'))) return undefined;
  s = s.replace(/_/g, '');
  let v: number;
  if (/^0[xX][0-9a-fA-F]+$/.test(s)) v = parseInt(s.slice(2), 16);
  else if (/^0[bB][01]+$/.test(s)) v = parseInt(s.slice(2), 2);
  else if (/^0[oO][0-7]+$/.test(s)) v = parseInt(s.slice(2), 8);
  else if (/^0[0-7]+$/.test(s)) v = parseInt(s.slice(1), 8);
  else if (/^0[xX]/.test(s)) v = parseHexFloat(s.slice(2)) ?? NaN;
  else if (/^(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s) && !/^0\d+$/.test(s)) v = Number(s);
  else return undefined;
  return Number.isNaN(v) ? undefined : sign * v;
}

function parseHexFloat(s: string): number | undefined {
  const m = /^([0-9a-fA-F]*)(?:\.([0-9a-fA-F]*))?[pP]([+-]?\d+)$/.exec(s);
  if (!m || (m[1] === '' && !m[2])) return undefined;
  const frac = m[2] ?? '';
  const mant = parseInt((m[1] || '0') + frac, 16);
  return mant * Math.pow(2, Number(m[3]) - 4 * frac.length);
}
