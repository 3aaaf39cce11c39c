/**
 * Rendering of command results the way podman renders them
 * (containers/common/pkg/report): default column tables, --format json,
 * --format 'table {{.A}}\t{{.B}}' and plain Go templates.
 *
 * Every function returns the complete text; commands write it.
 */
import {camelSplit} from '../lib/util/gotemplate/camelcase';
import {compile, toGoJson, type Template} from '../lib/util/gotemplate';
import {tabwrite} from '../lib/util/gotemplate/tabwriter';

export interface Column {
  header: string;
  field: string;
}

export interface ListOptions {
  /** The --format value; undefined or "" for the default table. */
  format?: string;
  /** Default table columns; their headers also name these fields in 'table' formats. */
  columns: Column[];
  noHeading?: boolean;
  /** Template name in error messages (podman uses the command name). */
  name?: string;
  /** JSON indent for --format json (default four spaces, as `podman images`). */
  jsonIndent?: string;
}

export interface OneOptions {
  name?: string;
  /** JSON indent for --format json (default four spaces). */
  jsonIndent?: string;
}

const FOUR = '    ';
/** podman inspect's indent (utils.PrintGenericJSON uses five spaces). */
const INSPECT_INDENT = '     ';

/** podman's report.IsJSON (as of podman 4.3): "json", "{{json .}}", "{{ json }}". */
export function isJsonFormat(format: string): boolean {
  return /^\s*(json|\{\{\s*json\s*\.?\s*\}\})\s*$/.test(format);
}

/** Go's strings.Replacer semantics: at each position the first matching pair wins. */
function replaceAll(s: string, pairs: Array<[string, string]>): string {
  let out = '';
  for (let i = 0; i < s.length; ) {
    const hit = pairs.find(([from]) => s.startsWith(from, i));
    if (hit) {
      out += hit[1];
      i += hit[0].length;
    } else out += s[i++];
  }
  return out;
}

/** report.NormalizeFormat without the trailing newline: CLI escapes, and for tables tabs for spaces. */
function unescapeFormat(format: string): string {
  if (format.startsWith('table ')) {
    return replaceAll(format, [
      ['table ', ''],
      ['\\t', '\t'],
      [' ', '\t'],
      ['\\n', '\n'],
    ]);
  }
  return replaceAll(format, [
    ['\\t', '\t'],
    ['\\n', '\n'],
  ]);
}

/** report.NormalizeFormat: unescapeFormat plus a final newline. */
function normalizeFormat(format: string): string {
  const f = unescapeFormat(format);
  return f.endsWith('\n') ? f : f + '\n';
}

/** report.EnforceRange: wrap in {{range .}} unless the template ranges over dot itself. */
function enforceRange(format: string): string {
  return /\{\{\s*range\s*\.\s*\}\}[\s\S]*\{\{\s*end\s*-?\s*\}\}/.test(format) ? format : `{{range .}}${format}{{end -}}`;
}

/** podman parses the normalized text and falls back to the original if that fails. */
function compileEither(normalized: string, original: string, name: string): Template {
  try {
    return compile(normalized, {name});
  } catch (err) {
    if (normalized === original) throw err;
    return compile(original, {name});
  }
}

/** A table heading for a field: the column's header, else "CreatedAt" → "CREATED AT". */
function headerFor(field: string, columns: Column[]): string {
  const col = columns.find((c) => c.field === field);
  return (col ? col.header : camelSplit(field).join(' ')).toUpperCase();
}

function headerRow(tmpl: Template, columns: Column[], rows: object[]): Record<string, string> {
  const fields = new Set([...columns.map((c) => c.field), ...tmpl.fields(), ...Object.keys(rows[0] ?? {})]);
  return Object.fromEntries([...fields].map((f) => [f, headerFor(f, columns)]));
}

/**
 * One object rendered with --format: 'json' gives indented JSON, anything
 * else is a Go template (with \t and \n escapes expanded). No newline is
 * added; see formatOne for podman's newline.
 */
export function renderOne(data: unknown, format: string, opts: OneOptions = {}): string {
  if (isJsonFormat(format)) return toGoJson(data, {indent: opts.jsonIndent ?? FOUR});
  const name = opts.name ?? 'output';
  return compileEither(unescapeFormat(format), format, name).execute(data);
}

/** As renderOne, terminated by a newline the way podman prints single objects. */
export function formatOne(data: unknown, format: string, opts: OneOptions = {}): string {
  if (isJsonFormat(format)) return renderOne(data, format, opts) + '\n';
  return compileEither(normalizeFormat(format), format, opts.name ?? 'output').execute(data);
}

/**
 * A list of rows: podman's default table, JSON, a 'table ...' template
 * (heading plus tab-aligned rows) or a plain template (one line per row).
 */
export function renderList(rows: object[], opts: ListOptions): string {
  const name = opts.name ?? 'output';
  const format = opts.format ?? '';
  if (format !== '' && isJsonFormat(format)) {
    return toGoJson(rows, {indent: opts.jsonIndent ?? FOUR, escapeHtml: true}) + '\n';
  }
  let tmpl: Template;
  let table = true;
  if (format === '') {
    const row = opts.columns.map((c) => `{{.${c.field}}}`).join('\t');
    tmpl = compile(`{{range .}}${row}\n{{end -}}`, {name});
  } else if (format.startsWith('table ')) {
    const original = `{{range .}}${format.slice('table '.length)}{{end -}}`;
    tmpl = compileEither(`{{range .}}${normalizeFormat(format)}{{end -}}`, original, name);
  } else {
    table = false;
    tmpl = compileEither(enforceRange(normalizeFormat(format)), enforceRange(format), name);
  }
  if (!table) return tmpl.execute(rows);
  const heading = opts.noHeading ? '' : tmpl.execute([headerRow(tmpl, opts.columns, rows)]);
  return tabwrite(heading + tmpl.execute(rows));
}

/**
 * podman inspect output: JSON (five-space indent, no HTML escaping) by
 * default or for 'json', else the template run once per item.
 */
export function renderInspect(items: unknown[], format?: string, opts: {name?: string} = {}): string {
  if (!format || isJsonFormat(format)) return toGoJson(items, {indent: INSPECT_INDENT}) + '\n';
  return renderList(items as object[], {format, columns: [], noHeading: true, name: opts.name ?? 'inspect'});
}

/**
 * While a startup snapshot is built: compile the default tables of these
 * column sets (renderList of no rows), so the snapshot holds the output
 * module, the template engine and the compiled templates.
 */
export function warmOutput(columnSets: Array<Array<{header: string; field: string}>>): void {
  for (const columns of columnSets) renderList([], {columns});
}
