/**
 * The template function table: Go's text/template builtins plus the
 * functions podman adds (containers/common/pkg/report DefaultFuncs: join,
 * json, lower, pad, split, title, truncate, upper).
 *
 * Each function declares Go-like parameter types so the executor can reject
 * arguments the way Go's reflection-based call does. `and` and `or` are
 * evaluated lazily by the executor itself.
 */
import {FuncError} from './errors';
import {formatValue, sprint, sprintf, sprintln} from './fmt';
import {toGoJson} from './json';
import {compareStrings, goKind, goTypeName, isTrue} from './value';

/** any: any value; string, int: Go scalars; strings: []string. */
export type ParamType = 'any' | 'string' | 'int' | 'strings';

export interface TemplateFunc {
  params: ParamType[];
  /** Type of the trailing variadic parameter, if the function is variadic. */
  variadic?: ParamType;
  call(...args: unknown[]): unknown;
}

function fail(msg: string): never {
  throw new FuncError(msg);
}

const isNil = (v: unknown) => v === null || v === undefined;

// --- comparison (Go's eq, lt, ... on basic kinds) -------------------------

type BasicKind = 'bool' | 'number' | 'string' | 'nil';

function basicKind(v: unknown): BasicKind | undefined {
  const k = goKind(v);
  if (k === 'int' || k === 'float') return 'number';
  if (k === 'bool' || k === 'string' || k === 'nil') return k;
  return undefined;
}

function eq(a: unknown, ...rest: unknown[]): boolean {
  if (rest.length === 0) fail('missing argument for comparison');
  const k1 = basicKind(a);
  for (const b of rest) {
    const k2 = basicKind(b);
    if (k1 === undefined || k2 === undefined) {
      if (isNil(a) || isNil(b)) continue;
      fail(`non-comparable type ${formatValue(k1 === undefined ? a : b)}: ${goTypeName(k1 === undefined ? a : b)}`);
    }
    if (k1 !== k2) {
      if (k1 !== 'nil' && k2 !== 'nil') fail('incompatible types for comparison');
      continue;
    }
    if (k1 === 'nil' || a === b) return true;
  }
  return false;
}

function lt(a: unknown, b: unknown): boolean {
  const k1 = basicKind(a);
  const k2 = basicKind(b);
  if (k1 === undefined || k2 === undefined || k1 === 'nil' || k2 === 'nil') fail('invalid type for comparison');
  if (k1 !== k2) fail('incompatible types for comparison');
  if (k1 === 'bool') fail('invalid type for comparison');
  if (k1 === 'string') return compareStrings(a as string, b as string) < 0;
  return (a as number) < (b as number);
}

// --- index and slice -------------------------------------------------------

function toIndex(x: unknown, what: string): number {
  if (isNil(x)) fail(`cannot index ${what} with nil`);
  if (goKind(x) !== 'int') fail(`cannot index ${what} with type ${goTypeName(x)}`);
  return Number(x);
}

function index(item: unknown, ...indexes: unknown[]): unknown {
  if (isNil(item)) fail('index of untyped nil');
  let cur: unknown = item;
  for (const ix of indexes) {
    if (isNil(cur)) fail('index of nil pointer');
    const k = goKind(cur);
    if (k === 'slice' || k === 'string') {
      const bytes = k === 'string' ? Buffer.from(cur as string) : undefined;
      const len = bytes ? bytes.length : (cur as unknown[]).length;
      const x = toIndex(ix, 'slice/array');
      if (x < 0 || x >= len) fail(`index out of range: ${x}`);
      cur = bytes ? bytes[x] : (cur as unknown[])[x] as unknown;
    } else if (k === 'map') {
      if (typeof ix !== 'string') fail(`value has type ${goTypeName(ix)}; should be string`);
      const m = cur as object;
      cur = m instanceof Map ? m.get(ix) : Object.prototype.hasOwnProperty.call(m, ix) ? (m as Record<string, unknown>)[ix] : undefined;
    } else {
      fail(`can't index item of type ${goTypeName(cur)}`);
    }
  }
  return cur;
}

function slice(item: unknown, ...indexes: unknown[]): unknown {
  if (isNil(item)) fail('slice of untyped nil');
  if (indexes.length > 3) fail(`too many slice indexes: ${indexes.length}`);
  const k = goKind(item);
  if (k !== 'string' && k !== 'slice') fail(`can't slice item of type ${goTypeName(item)}`);
  if (k === 'string' && indexes.length === 3) fail('cannot 3-index slice a string');
  const bytes = k === 'string' ? Buffer.from(item as string) : undefined;
  const len = bytes ? bytes.length : (item as unknown[]).length;
  const idx = [0, len];
  indexes.slice(0, 2).forEach((x, i) => {
    const n = toIndex(x, 'slice/array');
    if (n < 0 || n > len) fail(`index out of range: ${n}`);
    idx[i] = n;
  });
  if (idx[0] > idx[1]) fail(`invalid slice index: ${idx[0]} > ${idx[1]}`);
  return bytes ? bytes.subarray(idx[0], idx[1]).toString() : (item as unknown[]).slice(idx[0], idx[1]);
}

function length(item: unknown): number {
  if (isNil(item)) fail('len of nil pointer');
  switch (goKind(item)) {
    case 'string':
      return Buffer.byteLength(item as string);
    case 'slice':
      return (item as ArrayLike<unknown>).length;
    case 'map':
      return item instanceof Map ? item.size : Object.keys(item as object).length;
  }
  return fail(`len of type ${goTypeName(item)}`);
}

// --- escaping ---------------------------------------------------------------

/** text/template's evalArgs: one string argument as is, else fmt.Sprint with nil shown as "<no value>". */
function argsString(args: unknown[]): string {
  if (args.length === 1 && typeof args[0] === 'string') return args[0];
  return sprint(args.map((a) => (isNil(a) ? '<no value>' : a)));
}

const HTML_ESCAPES: Record<string, string> = {'\0': '\uFFFD', '"': '&#34;', "'": '&#39;', '&': '&amp;', '<': '&lt;', '>': '&gt;'};

function htmlEscape(s: string): string {
  return s.replace(/[\0"'&<>]/g, (c) => HTML_ESCAPES[c]);
}

function jsEscape(s: string): string {
  let out = '';
  for (const ch of s) {
    const cp = ch.codePointAt(0) ?? 0;
    if (ch === '\\') out += '\\\\';
    else if (ch === "'") out += "\\'";
    else if (ch === '"') out += '\\"';
    else if ('<>&='.includes(ch) || cp < 0x20) out += '\\u' + cp.toString(16).toUpperCase().padStart(4, '0');
    else if (cp < 0x80 || /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u.test(ch)) out += ch;
    else out += '\\u' + cp.toString(16).toUpperCase().padStart(4, '0');
  }
  return out;
}

/** Go's url.QueryEscape. */
function queryEscape(s: string): string {
  let out = '';
  for (const b of Buffer.from(s)) {
    const c = String.fromCharCode(b);
    if (/[A-Za-z0-9\-_.~]/.test(c)) out += c;
    else if (c === ' ') out += '+';
    else out += '%' + b.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

// --- podman's string helpers ------------------------------------------------

/** strings.Title's word separators: ASCII non-alphanumerics (except _) and Unicode spaces. */
function isSeparator(ch: string): boolean {
  if ((ch.codePointAt(0) ?? 0) <= 0x7f) return !/[0-9A-Za-z_]/.test(ch);
  if (/^[\p{L}\p{Nd}]$/u.test(ch)) return false;
  return /^\s$/u.test(ch);
}

/** strings.Title: upper-cases the first letter of each word. */
function title(s: string): string {
  let prev = ' ';
  let out = '';
  for (const ch of s) {
    out += isSeparator(prev) ? ch.toUpperCase() : ch;
    prev = ch;
  }
  return out;
}

/** strings.Split, including the empty-separator case (split into characters). */
function split(s: string, sep: string): string[] {
  return sep === '' ? Array.from(s) : s.split(sep);
}

function truncate(s: string, n: number): string {
  const b = Buffer.from(s);
  return b.length < n ? s : b.subarray(0, Math.max(n, 0)).toString();
}

function padWithSpace(s: string, prefix: number, suffix: number): string {
  return s === '' ? s : ' '.repeat(Math.max(prefix, 0)) + s + ' '.repeat(Math.max(suffix, 0));
}

// --- the table --------------------------------------------------------------

export const BUILTINS: Record<string, TemplateFunc> = {
  and: {params: ['any'], variadic: 'any', call: (...a) => a.find((x) => !isTrue(x)) ?? a[a.length - 1]},
  or: {params: ['any'], variadic: 'any', call: (...a) => a.find((x) => isTrue(x)) ?? a[a.length - 1]},
  not: {params: ['any'], call: (a) => !isTrue(a)},
  len: {params: ['any'], call: length},
  index: {params: ['any'], variadic: 'any', call: index},
  slice: {params: ['any'], variadic: 'any', call: slice},
  call: {
    params: ['any'],
    variadic: 'any',
    call: (fn, ...args) => (typeof fn === 'function' ? fn(...args) : fail(`non-function of type ${goTypeName(fn)}`)),
  },
  print: {params: [], variadic: 'any', call: (...a) => sprint(a)},
  printf: {params: ['string'], variadic: 'any', call: (f, ...a) => sprintf(f as string, a)},
  println: {params: [], variadic: 'any', call: (...a) => sprintln(a)},
  html: {params: [], variadic: 'any', call: (...a) => htmlEscape(argsString(a))},
  js: {params: [], variadic: 'any', call: (...a) => jsEscape(argsString(a))},
  urlquery: {params: [], variadic: 'any', call: (...a) => queryEscape(argsString(a))},
  eq: {params: ['any'], variadic: 'any', call: eq},
  ne: {params: ['any', 'any'], call: (a, b) => !eq(a, b)},
  lt: {params: ['any', 'any'], call: lt},
  le: {params: ['any', 'any'], call: (a, b) => lt(a, b) || eq(a, b)},
  gt: {params: ['any', 'any'], call: (a, b) => !lt(a, b) && !eq(a, b)},
  ge: {params: ['any', 'any'], call: (a, b) => !lt(a, b)},
  // podman (containers/common/pkg/report.DefaultFuncs)
  join: {params: ['strings', 'string'], call: (list, sep) => (list as string[]).join(sep as string)},
  json: {params: ['any'], call: (v) => toGoJson(v)},
  lower: {params: ['string'], call: (s) => (s as string).toLowerCase()},
  pad: {params: ['string', 'int', 'int'], call: (s, p, q) => padWithSpace(s as string, p as number, q as number)},
  split: {params: ['string', 'string'], call: (s, sep) => split(s as string, sep as string)},
  title: {params: ['string'], call: (s) => title(s as string)},
  truncate: {params: ['string', 'int'], call: (s, n) => truncate(s as string, n as number)},
  upper: {params: ['string'], call: (s) => (s as string).toUpperCase()},
};
