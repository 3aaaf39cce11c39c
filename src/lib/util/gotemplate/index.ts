/**
 * Go text/template for skiff's --format flags.
 *
 *   compile('{{.ID}} {{join .Names ","}}').execute(row)
 *
 * Parse and execution errors are SkiffError invalid-input errors worded as
 * Go words them ("template: output:1: function \"foo\" not defined").
 */
import {invalidInput} from '../errors';
import {TemplateExecError, TemplateSyntaxError} from './errors';
import {Executor} from './exec';
import {referencedFields} from './fields';
import {BUILTINS, type TemplateFunc} from './funcs';
import {parse} from './parser';

export type {TemplateFunc, ParamType} from './funcs';
export {formatValue, sprintf} from './fmt';
export {toGoJson, type GoJsonOptions} from './json';

export interface CompileOptions {
  /** Template name used in error messages (podman uses the command name). */
  name?: string;
  /** Extra functions; they replace builtins of the same name. */
  funcs?: Record<string, TemplateFunc>;
}

export interface Template {
  readonly name: string;
  /** Runs the template on `data` and returns the output. */
  execute(data: unknown): string;
  /** Top-level field names used by the template, in order of first use. */
  fields(): string[];
}

/** "LINE:COL" of a source offset, Go style (1-based line, 0-based byte column). */
function position(src: string, pos: number): string {
  const before = src.slice(0, pos);
  const nl = before.lastIndexOf('\n');
  const line = before.split('\n').length;
  return `${line}:${Buffer.byteLength(before.slice(nl + 1))}`;
}

/**
 * Compiled templates without extra functions, by name and text: a template
 * is immutable once compiled, and the commands' default formats compiled
 * while the startup snapshot is built (warmOutput in src/cli/output.ts) are
 * then in its heap, not parsed again at every `ps` (~2-3 ms).
 */
const compiled = new Map<string, Template>();
const COMPILED_MAX = 64;

export function compile(text: string, opts: CompileOptions = {}): Template {
  if (opts.funcs) return compileNew(text, opts);
  const key = `${opts.name ?? 'output'}\0${text}`;
  let t = compiled.get(key);
  if (!t) {
    t = compileNew(text, opts);
    if (compiled.size >= COMPILED_MAX) compiled.clear();
    compiled.set(key, t);
  }
  return t;
}

function compileNew(text: string, opts: CompileOptions): Template {
  const name = opts.name ?? 'output';
  const funcs = {...BUILTINS, ...opts.funcs};
  let parsed;
  try {
    parsed = parse(text, (f) => Object.prototype.hasOwnProperty.call(funcs, f));
  } catch (e) {
    if (e instanceof TemplateSyntaxError) throw invalidInput(`template: ${name}:${e.line}: ${e.message}`, e);
    throw e;
  }
  const tree = parsed;
  return {
    name,
    execute(data: unknown): string {
      try {
        return new Executor(tree, funcs).run(data);
      } catch (e) {
        if (!(e instanceof TemplateExecError)) throw e;
        const ctx = e.context.length > 20 ? `${e.context.slice(0, 20)}...` : e.context;
        throw invalidInput(`template: ${name}:${position(text, e.pos)}: executing "${name}" at <${ctx}>: ${e.message}`, e);
      }
    },
    fields: () => referencedFields(tree),
  };
}
