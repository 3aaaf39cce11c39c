/**
 * Executes a parsed Go template against JS data, following
 * text/template's exec.go: dot and variable scoping, pipelines where each
 * command's result becomes the last argument of the next, field lookup
 * (calling methods), control structures, and Go's printing rules
 * (nil prints as "<no value>").
 */
import {nodeString, type AnyNode, type ArgNode, type BranchNode, type CommandNode, type IdentifierNode, type ListNode, type Node, type PipeNode} from './ast';
import {FuncError, TemplateExecError} from './errors';
import {formatValue} from './fmt';
import type {ParamType, TemplateFunc} from './funcs';
import type {ParsedTemplate} from './parser';
import {goKind, goTypeName, isTrue, lookupField, mapEntries} from './value';

/** Marks "no value piped in" (distinct from a piped-in undefined). */
const MISSING: unique symbol = Symbol('missing');
type Final = unknown | typeof MISSING;

const MAX_DEPTH = 1000;

class BreakSignal {}
class ContinueSignal {}

interface Variable {
  name: string;
  value: unknown;
}

const isNil = (v: unknown) => v === null || v === undefined;

export class Executor {
  private vars: Variable[] = [];
  private out: string[] = [];
  private depth = 0;

  constructor(
    private readonly tmpl: ParsedTemplate,
    private readonly funcs: Record<string, TemplateFunc>,
  ) {}

  run(data: unknown): string {
    this.vars = [{name: '$', value: data}];
    this.out = [];
    this.walk(data, this.tmpl.root);
    return this.out.join('');
  }

  private fail(node: AnyNode, msg: string): never {
    throw new TemplateExecError(msg, node.pos, nodeString(node));
  }

  // --- statements ----------------------------------------------------------

  private walk(dot: unknown, node: Node): void {
    switch (node.kind) {
      case 'list':
        for (const n of node.nodes) this.walk(dot, n);
        return;
      case 'text':
        this.out.push(node.text);
        return;
      case 'action': {
        const val = this.evalPipeline(dot, node.pipe);
        if (node.pipe.decl.length === 0) this.out.push(this.printable(node, val));
        return;
      }
      case 'if':
      case 'with':
        return this.walkIfOrWith(dot, node);
      case 'range':
        return this.walkRange(dot, node);
      case 'break':
        throw new BreakSignal();
      case 'continue':
        throw new ContinueSignal();
      case 'template':
        return this.walkTemplate(dot, node.name, node.pipe, node);
    }
  }

  private printable(node: AnyNode, v: unknown): string {
    if (isNil(v)) return '<no value>';
    if (typeof v === 'function') this.fail(node, `can't print ${nodeString(node)} of type ${goTypeName(v)}`);
    return formatValue(v);
  }

  private walkIfOrWith(dot: unknown, node: BranchNode): void {
    const mark = this.vars.length;
    try {
      const val = this.evalPipeline(dot, node.pipe);
      if (isTrue(val)) this.walk(node.kind === 'with' ? val : dot, node.list);
      else if (node.elseList) this.walk(dot, node.elseList);
    } finally {
      this.vars.length = mark;
    }
  }

  private walkRange(dot: unknown, node: BranchNode): void {
    const outer = this.vars.length;
    try {
      const val = this.evalPipeline(dot, node.pipe);
      const mark = this.vars.length;
      const decl = node.pipe.decl;
      const iteration = (key: unknown, elem: unknown): boolean => {
        if (decl.length > 0) {
          if (node.pipe.isAssign) this.setVar(decl[0].idents[0], decl.length > 1 ? key : elem);
          else this.vars[this.vars.length - 1].value = elem;
        }
        if (decl.length > 1) {
          if (node.pipe.isAssign) this.setVar(decl[1].idents[0], elem);
          else this.vars[this.vars.length - 2].value = key;
        }
        try {
          this.walk(elem, node.list);
        } catch (e) {
          if (e instanceof BreakSignal) return false;
          if (!(e instanceof ContinueSignal)) throw e;
        } finally {
          this.vars.length = mark;
        }
        return true;
      };
      const items = this.rangeItems(node, val);
      if (items.length === 0) {
        if (node.elseList) this.walk(dot, node.elseList);
        return;
      }
      for (const [k, v] of items) if (!iteration(k, v)) break;
    } finally {
      this.vars.length = outer;
    }
  }

  private rangeItems(node: BranchNode, val: unknown): Array<[unknown, unknown]> {
    switch (goKind(val)) {
      case 'nil':
        return [];
      case 'slice':
        return Array.from(val as ArrayLike<unknown>, (v, i) => [i, v]);
      case 'map':
        return mapEntries(val as object);
      case 'int': {
        const n = Number(val);
        return Array.from({length: Math.max(n, 0)}, (_, i) => [i, i]);
      }
      case 'func':
        return this.fail(node, `range over ${nodeString(node.pipe)} (func) is not supported`);
    }
    // Go reports this at the last node evaluated, normally the ranged-over operand.
    const last = node.pipe.cmds[node.pipe.cmds.length - 1];
    return this.fail(last.args.length === 1 ? last.args[0] : last, `range can't iterate over ${formatValue(val)}`);
  }

  private walkTemplate(dot: unknown, name: string, pipe: PipeNode | undefined, node: AnyNode): void {
    const body = this.tmpl.defines.get(name);
    if (!body) this.fail(node, `template "${name}" not defined`);
    if (this.depth >= MAX_DEPTH) this.fail(node, `exceeded maximum template depth (${MAX_DEPTH})`);
    const newDot = pipe ? this.evalPipeline(dot, pipe) : undefined;
    const savedVars = this.vars;
    this.vars = [{name: '$', value: newDot}];
    this.depth++;
    try {
      this.walk(newDot, body as ListNode);
    } finally {
      this.depth--;
      this.vars = savedVars;
    }
  }

  // --- variables -----------------------------------------------------------

  private setVar(name: string, value: unknown): void {
    for (let i = this.vars.length - 1; i >= 0; i--) {
      if (this.vars[i].name === name) {
        this.vars[i].value = value;
        return;
      }
    }
  }

  private varValue(node: AnyNode, name: string): unknown {
    for (let i = this.vars.length - 1; i >= 0; i--) if (this.vars[i].name === name) return this.vars[i].value;
    return this.fail(node, `undefined variable: ${name}`);
  }

  // --- pipelines and commands ----------------------------------------------

  private evalPipeline(dot: unknown, pipe: PipeNode): unknown {
    let value: Final = MISSING;
    for (const cmd of pipe.cmds) value = this.evalCommand(dot, cmd, value);
    const result = value === MISSING ? undefined : value;
    for (const v of pipe.decl) {
      if (pipe.isAssign) this.setVar(v.idents[0], result);
      else this.vars.push({name: v.idents[0], value: result});
    }
    return result;
  }

  private evalCommand(dot: unknown, cmd: CommandNode, final: Final): unknown {
    const first = cmd.args[0];
    switch (first.kind) {
      case 'field':
        return this.evalFieldChain(dot, dot, first, first.idents, cmd.args, final);
      case 'chain': {
        const base = this.evalArgNode(dot, first.node, cmd);
        return this.evalFieldChain(dot, base, first.node, first.fields, cmd.args, final);
      }
      case 'identifier':
        return this.evalFunction(dot, first, cmd, cmd.args, final);
      case 'variable': {
        const v = this.varValue(first, first.idents[0]);
        if (first.idents.length === 1) {
          this.notAFunction(cmd, final);
          return v;
        }
        return this.evalFieldChain(dot, v, first, first.idents.slice(1), cmd.args, final);
      }
      case 'pipe':
        this.notAFunction(cmd, final);
        return this.evalPipeline(dot, first);
    }
    this.notAFunction(cmd, final);
    switch (first.kind) {
      case 'bool':
        return first.value;
      case 'dot':
        return dot;
      case 'nil':
        return this.fail(cmd, 'nil is not a command');
      case 'number':
        return first.value;
      case 'string':
        return first.text;
    }
  }

  private notAFunction(cmd: CommandNode, final: Final): void {
    if (cmd.args.length > 1 || final !== MISSING) {
      this.fail(cmd.args[0], `can't give argument to non-function ${nodeString(cmd.args[0])}`);
    }
  }

  /** Evaluates an operand used as an argument (never receiving a piped value). */
  private evalArgNode(dot: unknown, node: ArgNode, cmd: AnyNode): unknown {
    switch (node.kind) {
      case 'dot':
        return dot;
      case 'nil':
        return null;
      case 'bool':
        return node.value;
      case 'number':
        return node.value;
      case 'string':
        return node.text;
      case 'field':
        return this.evalFieldChain(dot, dot, node, node.idents, [node], MISSING);
      case 'variable': {
        const v = this.varValue(node, node.idents[0]);
        return node.idents.length === 1 ? v : this.evalFieldChain(dot, v, node, node.idents.slice(1), [node], MISSING);
      }
      case 'chain': {
        const base = this.evalArgNode(dot, node.node, cmd);
        return this.evalFieldChain(dot, base, node.node, node.fields, [node], MISSING);
      }
      case 'pipe':
        return this.evalPipeline(dot, node);
      case 'identifier':
        return this.evalFunction(dot, node, node, [node], MISSING);
    }
  }

  /**
   * Walks `.A.B.C` from `receiver`; only the last element receives the
   * command's arguments (args[1:]) and the piped value.
   */
  private evalFieldChain(dot: unknown, receiver: unknown, node: AnyNode, idents: string[], args: ArgNode[], final: Final): unknown {
    let cur = receiver;
    for (let i = 0; i < idents.length - 1; i++) cur = this.evalField(dot, idents[i], node, [], MISSING, cur);
    return this.evalField(dot, idents[idents.length - 1], node, args, final, cur);
  }

  private evalField(dot: unknown, name: string, node: AnyNode, args: ArgNode[], final: Final, receiver: unknown): unknown {
    if (isNil(receiver)) return undefined;
    const hasArgs = args.length > 1 || final !== MISSING;
    const kind = goKind(receiver);
    if (kind !== 'map') this.fail(node, `can't evaluate field ${name} in type ${goTypeName(receiver)}`);
    const found = lookupField(receiver as object, name);
    if (!found.found) {
      if (hasArgs) this.fail(node, `${name} is not a method but has arguments`);
      return undefined;
    }
    if (!found.isMethod) {
      if (hasArgs) this.fail(node, `${name} is not a method but has arguments`);
      return found.value;
    }
    const argv = args.slice(1).map((a) => this.evalArgNode(dot, a, node));
    if (final !== MISSING) argv.push(final);
    try {
      return (found.value as (...a: unknown[]) => unknown).apply(receiver, argv);
    } catch (e) {
      return this.fail(node, `error calling ${name}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  private evalFunction(dot: unknown, ident: IdentifierNode, cmd: AnyNode, args: ArgNode[], final: Final): unknown {
    const name = ident.name;
    const fn = this.funcs[name];
    if (!fn) return this.fail(ident, `"${name}" is not a defined function`);
    const argNodes = args.slice(1);
    const given = argNodes.length + (final === MISSING ? 0 : 1);
    const want = fn.params.length;
    if (fn.variadic && given < want) {
      this.fail(ident, `wrong number of args for ${name}: want at least ${want} got ${argNodes.length}`);
    }
    if (!fn.variadic && given !== want) this.fail(ident, `wrong number of args for ${name}: want ${want} got ${given}`);
    const typeAt = (i: number): ParamType => fn.params[i] ?? fn.variadic ?? 'any';
    if (name === 'and' || name === 'or') {
      let v: unknown;
      for (const a of argNodes) {
        v = this.evalArgNode(dot, a, cmd);
        if (isTrue(v) === (name === 'or')) return v;
      }
      return final === MISSING ? v : final;
    }
    const argv = argNodes.map((a, i) => this.checkArg(a, typeAt(i), this.evalArgNode(dot, a, cmd)));
    if (final !== MISSING) argv.push(this.checkArg(cmd, typeAt(argv.length), final));
    try {
      return fn.call(...argv);
    } catch (e) {
      if (e instanceof FuncError) this.fail(cmd, `error calling ${name}: ${e.message}`);
      throw e;
    }
  }

  /** Go's argument conversion: literals get "expected X; found Y", values "wrong type for value". */
  private checkArg(node: AnyNode, type: ParamType, v: unknown): unknown {
    const kind = goKind(v);
    const literal = node.kind === 'bool' || node.kind === 'number' || node.kind === 'string' || node.kind === 'nil';
    const ok =
      type === 'any' ||
      (type === 'string' && kind === 'string') ||
      (type === 'int' && kind === 'int') ||
      (type === 'strings' && kind === 'slice' && Array.from(v as ArrayLike<unknown>).every((x) => typeof x === 'string'));
    if (ok) return type === 'int' ? Number(v) : v;
    const goType = type === 'strings' ? '[]string' : type;
    if (literal) {
      if (node.kind === 'nil') this.fail(node, `cannot assign nil to ${goType}`);
      const expected = type === 'int' ? 'integer' : type;
      this.fail(node, `expected ${expected}; found ${nodeString(node)}`);
    }
    if (isNil(v)) this.fail(node, `invalid value; expected ${goType}`);
    return this.fail(node, `wrong type for value; expected ${goType}; got ${goTypeName(v)}`);
  }
}
