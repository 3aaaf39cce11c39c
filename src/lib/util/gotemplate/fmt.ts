/**
 * A port of the behaviour of Go's fmt package for template values:
 * Sprint, Sprintln and Sprintf with the verbs %v %s %d %q %x %X %o %b %c
 * %U %e %f %g %t %T %%, widths, precisions, the flags "-+# 0", and Go's
 * error notation (%!d(string=x), %!s(MISSING), %!(EXTRA ...)).
 *
 * Integral JS numbers are Go ints, others float64; %e/%f/%g also accept
 * integral numbers, because JS data cannot say whether 2 was 2.0.
 */
import {formatFloat, type FloatVerb} from './gofloat';
import {goKind, goTypeName, mapEntries} from './value';

interface Spec {
  minus: boolean;
  plus: boolean;
  sharp: boolean;
  space: boolean;
  zero: boolean;
  width?: number;
  prec?: number;
}

const NO_FLAGS: Spec = {minus: false, plus: false, sharp: false, space: false, zero: false};

const runeCount = (s: string) => Array.from(s).length;

function pad(s: string, spec: Spec, allowZero = true): string {
  const w = spec.width ?? 0;
  const n = runeCount(s);
  if (n >= w) return s;
  const fill = w - n;
  if (spec.minus) return s + ' '.repeat(fill);
  if (spec.zero && allowZero) {
    const sign = /^[+\- ]/.test(s) ? s[0] : '';
    return sign + '0'.repeat(fill) + s.slice(sign.length);
  }
  return ' '.repeat(fill) + s;
}

/** True for runes Go's unicode.IsPrint accepts. */
function isPrint(ch: string): boolean {
  return ch === ' ' || /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u.test(ch);
}

/** strconv.Quote / QuoteToASCII. */
export function quote(s: string, asciiOnly = false): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0) ?? 0;
    if (ch === '"' || ch === '\\') out += '\\' + ch;
    else if (cp < 0x80 && isPrint(ch)) out += ch;
    else if (!asciiOnly && cp >= 0x80 && isPrint(ch)) out += ch;
    else if (ch === '\x07') out += '\\a';
    else if (ch === '\b') out += '\\b';
    else if (ch === '\f') out += '\\f';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\v') out += '\\v';
    else if (cp < 0x20 || cp === 0x7f) out += '\\x' + cp.toString(16).padStart(2, '0');
    else if (cp < 0x10000) out += '\\u' + cp.toString(16).padStart(4, '0');
    else out += '\\U' + cp.toString(16).padStart(8, '0');
  }
  return out + '"';
}

function quoteRune(cp: number): string {
  const ch = String.fromCodePoint(cp);
  if (ch === "'") return "'\\''";
  if (ch === '"') return `'"'`;
  return "'" + quote(ch).slice(1, -1) + "'";
}

function badVerb(verb: string, v: unknown): string {
  if (v === null || v === undefined) return `%!${verb}(<nil>)`;
  return `%!${verb}(${goTypeName(v)}=${formatValue(v)})`;
}

function fmtInteger(v: number | bigint, verb: string, spec: Spec): string {
  const big = BigInt(v);
  const neg = big < 0n;
  const abs = neg ? -big : big;
  let digits: string;
  let prefix = '';
  switch (verb) {
    case 'd':
    case 'v':
      digits = abs.toString();
      break;
    case 'b':
      digits = abs.toString(2);
      if (spec.sharp) prefix = '0b';
      break;
    case 'o':
    case 'O':
      digits = abs.toString(8);
      if (verb === 'O') prefix = '0o';
      else if (spec.sharp && digits !== '0') prefix = '0';
      break;
    case 'x':
    case 'X':
      digits = abs.toString(16);
      if (verb === 'X') digits = digits.toUpperCase();
      if (spec.sharp) prefix = verb === 'x' ? '0x' : '0X';
      break;
    default:
      return badVerb(verb, v);
  }
  if (spec.prec !== undefined) {
    if (spec.prec === 0 && abs === 0n) digits = '';
    digits = digits.padStart(spec.prec, '0');
  }
  const sign = neg ? '-' : spec.plus ? '+' : spec.space ? ' ' : '';
  let s = sign + prefix + digits;
  if (spec.zero && !spec.minus && spec.prec === undefined && spec.width !== undefined) {
    const fill = spec.width - runeCount(s);
    if (fill > 0) s = sign + prefix + '0'.repeat(fill) + digits;
  }
  return pad(s, spec, false);
}

function fmtFloatVerb(v: number, verb: string, spec: Spec): string {
  const lower = verb.toLowerCase();
  let prec = spec.prec ?? (lower === 'g' || verb === 'v' ? -1 : 6);
  const fv = (verb === 'v' ? 'g' : verb) as FloatVerb;
  if (lower === 'g' && spec.sharp && prec < 0) prec = 6;
  let s = formatFloat(v, fv, prec);
  if (spec.plus && !s.startsWith('-')) s = '+' + s;
  else if (spec.space && !s.startsWith('-')) s = ' ' + s;
  if (!Number.isFinite(v)) return pad(s, spec, false);
  return pad(s, spec);
}

function hexString(s: string, verb: 'x' | 'X', spec: Spec): string {
  const bytes = [...Buffer.from(s)].map((b) => b.toString(16).padStart(2, '0'));
  const digits = verb === 'X' ? bytes.map((b) => b.toUpperCase()) : bytes;
  const prefix = spec.sharp ? (verb === 'x' ? '0x' : '0X') : '';
  if (spec.space) return digits.map((d) => prefix + d).join(' ');
  return digits.length ? prefix + digits.join('') : '';
}

function truncated(s: string, spec: Spec): string {
  return spec.prec !== undefined ? Array.from(s).slice(0, spec.prec).join('') : s;
}

function fmtString(s: string, verb: string, spec: Spec): string {
  switch (verb) {
    case 'v':
    case 's':
      return pad(truncated(s, spec), spec);
    case 'q':
      s = truncated(s, spec);
      if (spec.sharp && !s.includes('`') && Array.from(s).every((c) => c === '\t' || isPrint(c))) return pad('`' + s + '`', spec);
      return pad(quote(s, spec.plus), spec);
    case 'x':
    case 'X':
      return pad(hexString(s, verb, spec), spec);
  }
  return badVerb(verb, s);
}

function fmtCompound(v: object, verb: string, spec: Spec): string {
  if (Array.isArray(v) || v instanceof Uint8Array) {
    return '[' + Array.from(v as ArrayLike<unknown>, (x) => fmtArg(x, verb, spec, true)).join(' ') + ']';
  }
  return 'map[' + mapEntries(v).map(([k, x]) => `${fmtArg(k, verb, spec, true)}:${fmtArg(x, verb, spec, true)}`).join(' ') + ']';
}

/** Go's time.Time String() for a JS Date (always UTC). */
function formatDate(d: Date): string {
  const iso = d.toISOString();
  const frac = iso.slice(20, 23).replace(/0+$/, '');
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}${frac ? '.' + frac : ''} +0000 UTC`;
}

/** A class instance's own toString (Go's Stringer), if it has one. */
function stringer(v: object): string | undefined {
  const proto = Object.getPrototypeOf(v);
  if (proto === null || proto === Object.prototype || proto === Array.prototype || proto === Map.prototype) return undefined;
  if (v instanceof Date) return formatDate(v);
  return v.toString === Object.prototype.toString ? undefined : v.toString();
}

function fmtArg(v: unknown, verb: string, spec: Spec, nested = false): string {
  if (verb === 'T') return pad(goTypeName(v), spec);
  // %#v (Go syntax) is only approximated: quoted strings, plain values otherwise.
  if (verb === 'v' && spec.sharp && typeof v === 'string') return pad(quote(v), spec);
  const kind = goKind(v);
  switch (kind) {
    case 'nil':
      return verb === 'v' || nested ? pad('<nil>', spec) : badVerb(verb, v);
    case 'bool':
      return verb === 'v' || verb === 't' ? pad(String(v), spec) : badVerb(verb, v);
    case 'int':
      if (verb === 'c') return pad(String.fromCodePoint(Number(v)), spec);
      if (verb === 'q') return pad(quoteRune(Number(v)), spec);
      if (verb === 'U') {
        const u = 'U+' + Number(v).toString(16).toUpperCase().padStart(4, '0');
        return pad(spec.sharp ? `${u} ${quoteRune(Number(v))}` : u, spec);
      }
      if ('eEfFgG'.includes(verb)) return fmtFloatVerb(Number(v), verb, spec);
      return fmtInteger(v as number | bigint, verb, spec);
    case 'float':
      return 'eEfFgGv'.includes(verb) ? fmtFloatVerb(v as number, verb, spec) : badVerb(verb, v);
    case 'string':
      return fmtString(v as string, verb, spec);
    case 'func':
      return verb === 'v' || verb === 'p' ? pad('0xc000000000', spec) : badVerb(verb, v);
    case 'slice':
    case 'map': {
      const s = stringer(v as object);
      if (s !== undefined && (verb === 'v' || verb === 's' || verb === 'q')) return fmtString(s, verb, spec);
      return fmtCompound(v as object, verb, spec);
    }
  }
}

/** fmt's %v of a value. */
export function formatValue(v: unknown): string {
  return fmtArg(v, 'v', NO_FLAGS);
}

/** fmt.Sprint: spaces between operands when neither side is a string. */
export function sprint(args: unknown[]): string {
  let out = '';
  args.forEach((a, i) => {
    if (i > 0 && typeof a !== 'string' && typeof args[i - 1] !== 'string') out += ' ';
    out += formatValue(a);
  });
  return out;
}

/** fmt.Sprintln: always spaces between operands, and a final newline. */
export function sprintln(args: unknown[]): string {
  return args.map(formatValue).join(' ') + '\n';
}

/** fmt.Sprintf. */
export function sprintf(format: string, args: unknown[]): string {
  let out = '';
  let argi = 0;
  let i = 0;
  const takeInt = (): number | undefined | 'bad' => {
    if (format[i] === '*') {
      i++;
      const a = args[argi++];
      if (argi > args.length || goKind(a) !== 'int') return 'bad';
      return Number(a);
    }
    const m = /^\d+/.exec(format.slice(i));
    if (!m) return undefined;
    i += m[0].length;
    return Number(m[0]);
  };
  while (i < format.length) {
    const pct = format.indexOf('%', i);
    if (pct < 0) {
      out += format.slice(i);
      break;
    }
    out += format.slice(i, pct);
    i = pct + 1;
    const spec: Spec = {...NO_FLAGS};
    for (; i < format.length; i++) {
      const c = format[i];
      if (c === '-') spec.minus = true;
      else if (c === '+') spec.plus = true;
      else if (c === '#') spec.sharp = true;
      else if (c === ' ') spec.space = true;
      else if (c === '0') spec.zero = true;
      else break;
    }
    const w = takeInt();
    if (w === 'bad') out += '%!(BADWIDTH)';
    else if (w !== undefined) {
      spec.width = Math.abs(w);
      if (w < 0) spec.minus = true;
    }
    if (format[i] === '.') {
      i++;
      const p = takeInt();
      if (p === 'bad' || (typeof p === 'number' && p < 0)) out += '%!(BADPREC)';
      else spec.prec = p ?? 0;
    }
    if (i >= format.length) {
      out += '%!(NOVERB)';
      break;
    }
    const verb = String.fromCodePoint(format.codePointAt(i) ?? 0);
    i += verb.length;
    if (verb === '%') {
      out += '%';
      continue;
    }
    if (argi >= args.length) {
      out += `%!${verb}(MISSING)`;
      continue;
    }
    out += fmtArg(args[argi++], verb, spec);
  }
  if (argi < args.length) {
    const extra = args.slice(argi).map((a) => (a === null || a === undefined ? '<nil>' : `${goTypeName(a)}=${formatValue(a)}`));
    out += `%!(EXTRA ${extra.join(', ')})`;
  }
  return out;
}
