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

export function compile(text: string, opts: CompileOptions = {}): Template {
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
