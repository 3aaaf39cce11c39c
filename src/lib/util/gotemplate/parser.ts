/**
 * Recursive-descent parser for Go templates, following the grammar of Go's
 * text/template/parse: actions, pipelines with declarations, control
 * structures (if/range/with with else chains), define/template/block.
 *
 * Function names are checked at parse time, as Go does, so an unknown
 * function fails before any output is produced.
 */
import type {ArgNode, BranchNode, CommandNode, ListNode, Node, PipeNode, TemplateNode} from './ast';
import {TemplateSyntaxError} from './errors';
import {lex, type Token, type TokenType} from './lexer';
import {parseNumber, unquoteChar, unquoteString} from './literals';

export interface ParsedTemplate {
  root: ListNode;
  /** Templates named by {{define}} and {{block}}. */
  defines: Map<string, ListNode>;
}

type Terminator = {kind: 'end' | 'else'; token: Token};

function tokenString(t: Token): string {
  if (t.type === 'eof') return 'EOF';
  if (t.type === 'keyword') return `<${t.value}>`;
  if (t.type === 'space') return 'space';
  const q = JSON.stringify(t.value);
  return t.value.length > 10 ? `${JSON.stringify(t.value.slice(0, 10))}...` : q;
}

class Parser {
  private readonly tokens: Token[];
  private i = 0;
  private vars: string[] = ['$'];
  private rangeDepth = 0;
  readonly defines = new Map<string, ListNode>();

  constructor(
    src: string,
    private readonly hasFunc: (name: string) => boolean,
  ) {
    this.tokens = lex(src);
  }

  parse(): ListNode {
    const root: ListNode = {kind: 'list', pos: 0, nodes: []};
    while (this.peek().type !== 'eof') {
      if (this.peek().type === 'leftDelim' && this.peekKeywordAfterDelim() === 'define') {
        this.next();
        this.nextNonSpace();
        this.parseDefinition();
        continue;
      }
      const n = this.textOrAction();
      if ('kind' in n && (n.kind === 'end' || n.kind === 'else')) this.fail(`unexpected {{${n.kind}}}`, n.token);
      root.nodes.push(n as Node);
    }
    return root;
  }

  // --- token helpers -------------------------------------------------------

  private fail(msg: string, at?: Token): never {
    throw new TemplateSyntaxError(msg, (at ?? this.tokens[Math.max(0, this.i - 1)]).line);
  }

  private peek(): Token {
    return this.tokens[this.i];
  }

  private next(): Token {
    const t = this.tokens[this.i];
    if (t.type !== 'eof') this.i++;
    return t;
  }

  private backup(n = 1): void {
    this.i -= n;
  }

  private nextNonSpace(): Token {
    let t = this.next();
    while (t.type === 'space') t = this.next();
    return t;
  }

  private peekNonSpace(): Token {
    const save = this.i;
    const t = this.nextNonSpace();
    this.i = save;
    return t;
  }

  private peekKeywordAfterDelim(): string | undefined {
    let j = this.i + 1;
    while (this.tokens[j]?.type === 'space') j++;
    const t = this.tokens[j];
    return t?.type === 'keyword' ? t.value : undefined;
  }

  private expect(type: TokenType, context: string): Token {
    const t = this.nextNonSpace();
    if (t.type !== type) this.unexpected(t, context);
    return t;
  }

  private unexpected(t: Token, context: string): never {
    if (t.type === 'eof') this.fail(`unexpected EOF in ${context}`, t);
    this.fail(`unexpected ${tokenString(t)} in ${context}`, t);
  }

  // --- structure -----------------------------------------------------------

  private parseDefinition(): void {
    const context = 'define clause';
    const nameTok = this.nextNonSpace();
    if (nameTok.type !== 'string' && nameTok.type !== 'rawString') this.unexpected(nameTok, context);
    const name = this.unquote(nameTok);
    this.expect('rightDelim', context);
    const saved = this.vars;
    this.vars = ['$'];
    const [body, end] = this.itemList();
    this.vars = saved;
    if (end.kind !== 'end') this.fail(`unexpected {{${end.kind}}} in ${context}`, end.token);
    this.defines.set(name, body);
  }

  /** Parses nodes up to the next {{end}} or {{else}}. */
  private itemList(): [ListNode, Terminator] {
    const list: ListNode = {kind: 'list', pos: this.peek().pos, nodes: []};
    while (this.peekNonSpace().type !== 'eof') {
      const n = this.textOrAction();
      if ('token' in n) return [list, n];
      list.nodes.push(n);
    }
    this.fail('unexpected EOF', this.peek());
  }

  private textOrAction(): Node | Terminator {
    const t = this.nextNonSpace();
    if (t.type === 'text') return {kind: 'text', pos: t.pos, text: t.value};
    if (t.type === 'leftDelim') return this.action();
    this.unexpected(t, 'input');
  }

  private action(): Node | Terminator {
    const t = this.nextNonSpace();
    if (t.type === 'keyword') {
      switch (t.value) {
        case 'block':
          return this.blockControl(t);
        case 'break':
        case 'continue':
          return this.loopControl(t);
        case 'else':
          return this.elseControl(t);
        case 'end':
          this.expect('rightDelim', 'end');
          return {kind: 'end', token: t};
        case 'if':
        case 'range':
        case 'with':
          return this.branchControl(t.value, t);
        case 'template':
          return this.templateControl(t);
      }
    }
    this.backup();
    const pipe = this.pipeline('command', 'rightDelim');
    return {kind: 'action', pos: t.pos, pipe};
  }

  private loopControl(t: Token): Node {
    const kind = t.value as 'break' | 'continue';
    const next = this.nextNonSpace();
    if (next.type !== 'rightDelim') this.unexpected(next, `{{${kind}}}`);
    if (this.rangeDepth === 0) this.fail(`{{${kind}}} outside {{range}}`, t);
    return {kind, pos: t.pos};
  }

  private elseControl(t: Token): Terminator {
    const p = this.peekNonSpace();
    // "else if" / "else with": leave the keyword for the enclosing control.
    if (p.type === 'keyword' && (p.value === 'if' || p.value === 'with')) return {kind: 'else', token: t};
    this.expect('rightDelim', 'else');
    return {kind: 'else', token: t};
  }

  private branchControl(kind: 'if' | 'range' | 'with', t: Token): BranchNode {
    const savedVars = this.vars.length;
    const pipe = this.pipeline(kind, 'rightDelim');
    if (kind === 'range') this.rangeDepth++;
    const [list, firstEnd] = this.itemList();
    let end = firstEnd;
    if (kind === 'range') this.rangeDepth--;
    let elseList: ListNode | undefined;
    if (end.kind === 'else') {
      const chained = this.peekNonSpace();
      if (kind !== 'range' && chained.type === 'keyword' && chained.value === kind) {
        // {{else if ...}} / {{else with ...}}: one {{end}} closes the chain.
        this.nextNonSpace();
        elseList = {kind: 'list', pos: chained.pos, nodes: [this.branchControl(kind, chained)]};
      } else {
        if (chained.type === 'keyword' && (chained.value === 'if' || chained.value === 'with')) {
          this.unexpected(chained, 'else');
        }
        [elseList, end] = this.itemList();
        if (end.kind !== 'end') this.fail(`expected end; found {{${end.kind}}}`, end.token);
      }
    }
    this.vars.length = savedVars;
    return {kind, pos: t.pos, pipe, list, elseList};
  }

  private templateName(t: Token, context: string): string {
    if (t.type !== 'string' && t.type !== 'rawString') this.unexpected(t, context);
    return this.unquote(t);
  }

  private templateControl(t: Token): TemplateNode {
    const context = 'template clause';
    const nameTok = this.nextNonSpace();
    const name = this.templateName(nameTok, context);
    let pipe: PipeNode | undefined;
    if (this.nextNonSpace().type !== 'rightDelim') {
      this.backup();
      pipe = this.pipeline(context, 'rightDelim');
    }
    return {kind: 'template', pos: nameTok.pos, name, pipe};
  }

  private blockControl(t: Token): TemplateNode {
    const context = 'block clause';
    const name = this.templateName(this.nextNonSpace(), context);
    const pipe = this.pipeline(context, 'rightDelim');
    const saved = this.vars;
    this.vars = ['$'];
    const [body, end] = this.itemList();
    this.vars = saved;
    if (end.kind !== 'end') this.fail(`unexpected {{${end.kind}}} in ${context}`, end.token);
    this.defines.set(name, body);
    return {kind: 'template', pos: t.pos, name, pipe};
  }

  // --- pipelines -----------------------------------------------------------

  private pipeline(context: string, end: 'rightDelim' | 'rightParen'): PipeNode {
    const start = this.peekNonSpace();
    const pipe: PipeNode = {kind: 'pipe', pos: start.pos, isAssign: false, decl: [], cmds: []};
    this.declarations(pipe, context);
    for (;;) {
      const t = this.nextNonSpace();
      if (t.type === end) {
        this.checkPipeline(pipe, context, t);
        return pipe;
      }
      switch (t.type) {
        case 'bool':
        case 'char':
        case 'dot':
        case 'field':
        case 'identifier':
        case 'number':
        case 'nil':
        case 'rawString':
        case 'string':
        case 'variable':
        case 'leftParen':
          this.backup();
          pipe.cmds.push(this.command());
          break;
        default:
          this.unexpected(t, context);
      }
    }
  }

  private declarations(pipe: PipeNode, context: string): void {
    for (;;) {
      const v = this.peekNonSpace();
      if (v.type !== 'variable') return;
      const save = this.i;
      this.nextNonSpace();
      const after = this.peekNonSpace();
      if (after.type === 'declare' || after.type === 'assign') {
        this.nextNonSpace();
        pipe.isAssign = after.type === 'assign';
        if (pipe.isAssign && !this.vars.includes(v.value)) this.fail(`undefined variable "${v.value}"`, v);
        pipe.decl.push({kind: 'variable', pos: v.pos, idents: [v.value]});
        this.vars.push(v.value);
        return;
      }
      if (after.type === 'comma') {
        this.nextNonSpace();
        pipe.decl.push({kind: 'variable', pos: v.pos, idents: [v.value]});
        this.vars.push(v.value);
        if (context === 'range' && pipe.decl.length < 2) {
          const n = this.peekNonSpace().type;
          if (n === 'variable' || n === 'rightDelim' || n === 'rightParen') continue;
          this.fail('range can only initialize variables', v);
        }
        this.fail(`too many declarations in ${context}`, v);
      }
      this.i = save;
      return;
    }
  }

  private checkPipeline(pipe: PipeNode, context: string, at: Token): void {
    if (pipe.cmds.length === 0) this.fail(`missing value for ${context}`, at);
    pipe.cmds.slice(1).forEach((c, i) => {
      const k = c.args[0].kind;
      if (k === 'bool' || k === 'dot' || k === 'nil' || k === 'number' || k === 'string') {
        this.fail(`non executable command in pipeline stage ${i + 2}`, at);
      }
    });
  }

  private command(): CommandNode {
    const cmd: CommandNode = {kind: 'command', pos: this.peekNonSpace().pos, args: []};
    for (;;) {
      this.peekNonSpace();
      const operand = this.operand();
      if (operand) cmd.args.push(operand);
      const t = this.next();
      if (t.type === 'space') continue;
      if (t.type === 'rightDelim' || t.type === 'rightParen') this.backup();
      else if (t.type !== 'pipe') this.unexpected(t, 'operand');
      break;
    }
    if (cmd.args.length === 0) this.fail('empty command');
    return cmd;
  }

  private operand(): ArgNode | undefined {
    const node = this.term();
    if (!node) return undefined;
    if (this.peek().type !== 'field') return node;
    // Go positions a chained operand at its first chained field.
    const pos = this.peek().pos;
    const fields: string[] = [];
    while (this.peek().type === 'field') fields.push(this.next().value.slice(1));
    switch (node.kind) {
      case 'field':
        return {kind: 'field', pos, idents: [...node.idents, ...fields]};
      case 'variable':
        return {kind: 'variable', pos, idents: [...node.idents, ...fields]};
      case 'bool':
      case 'string':
      case 'number':
      case 'nil':
      case 'dot':
        this.fail(`unexpected . after term "${node.kind === 'string' ? node.quoted : node.kind === 'number' ? node.text : node.kind}"`);
      // falls through (fail never returns)
      default:
        return {kind: 'chain', pos, node, fields};
    }
  }

  private term(): ArgNode | undefined {
    const t = this.nextNonSpace();
    switch (t.type) {
      case 'identifier':
        if (!this.hasFunc(t.value)) this.fail(`function "${t.value}" not defined`, t);
        return {kind: 'identifier', pos: t.pos, name: t.value};
      case 'dot':
        return {kind: 'dot', pos: t.pos};
      case 'nil':
        return {kind: 'nil', pos: t.pos};
      case 'variable':
        if (!this.vars.includes(t.value)) this.fail(`undefined variable "${t.value}"`, t);
        return {kind: 'variable', pos: t.pos, idents: [t.value]};
      case 'field':
        return {kind: 'field', pos: t.pos, idents: [t.value.slice(1)]};
      case 'bool':
        return {kind: 'bool', pos: t.pos, value: t.value === 'true'};
      case 'char': {
        const cp = unquoteChar(t.value);
        if (cp === undefined) this.fail(`malformed character constant: ${t.value}`, t);
        return {kind: 'number', pos: t.pos, text: t.value, value: cp};
      }
      case 'number': {
        const v = parseNumber(t.value);
        if (v === undefined) this.fail(`illegal number syntax: "${t.value}"`, t);
        return {kind: 'number', pos: t.pos, text: t.value, value: v};
      }
      case 'leftParen':
        return this.pipeline('parenthesized pipeline', 'rightParen');
      case 'string':
      case 'rawString':
        return {kind: 'string', pos: t.pos, quoted: t.value, text: this.unquote(t)};
    }
    this.backup();
    return undefined;
  }

  private unquote(t: Token): string {
    const s = unquoteString(t.value);
    if (s === undefined) this.fail('invalid syntax', t);
    return s;
  }
}

/** Parses template source; `hasFunc` tells which function names exist. */
export function parse(src: string, hasFunc: (name: string) => boolean): ParsedTemplate {
  const p = new Parser(src, hasFunc);
  const root = p.parse();
  return {root, defines: p.defines};
}
