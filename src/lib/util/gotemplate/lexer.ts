/**
 * Lexer for Go text/template source. Splits the text into tokens the way
 * Go's text/template/parse lexer does: raw text outside {{ }}, and inside an
 * action identifiers, fields, variables, literals, punctuation and spaces
 * (spaces matter: they separate the operands of a command).
 *
 * Trim markers ("{{- " and " -}}") are applied here, by trimming the
 * neighbouring text, so the parser never sees them.
 */
import {TemplateSyntaxError} from './errors';

export type TokenType =
  | 'text'
  | 'leftDelim'
  | 'rightDelim'
  | 'space'
  | 'identifier'
  | 'keyword'
  | 'field'
  | 'variable'
  | 'dot'
  | 'string'
  | 'rawString'
  | 'char'
  | 'number'
  | 'bool'
  | 'nil'
  | 'pipe'
  | 'leftParen'
  | 'rightParen'
  | 'declare'
  | 'assign'
  | 'comma'
  | 'eof';

export interface Token {
  type: TokenType;
  value: string;
  /** Byte-agnostic offset into the source (UTF-16 index). */
  pos: number;
  line: number;
}

export const KEYWORDS = new Set(['block', 'break', 'continue', 'define', 'else', 'end', 'if', 'range', 'template', 'with']);

const LEFT = '{{';
const RIGHT = '}}';
const TRIM_SPACES = ' \t\r\n';

const isSpace = (c: string) => c === ' ' || c === '\t' || c === '\r' || c === '\n';
// ASCII without the Unicode-property regexp: compiling it costs ~0.5-1 ms,
// paid at every start that lexes a template (`ps` does) unless a startup
// snapshot already holds it compiled; the light entry starts from a code cache.
const isAlnum = (c: string): boolean => {
  const x = c.charCodeAt(0);
  if (x < 0x80) return (x >= 0x30 && x <= 0x39) || (x >= 0x41 && x <= 0x5a) || (x >= 0x61 && x <= 0x7a) || x === 0x5f;
  return /^[\p{L}\p{Nd}_]$/u.test(c);
};

/** True when `{{` at `pos` is followed by the left trim marker "- ". */
function hasLeftTrim(src: string, pos: number): boolean {
  return src[pos + LEFT.length] === '-' && TRIM_SPACES.includes(src[pos + LEFT.length + 1] ?? '');
}

/** True when the action text at `pos` is the right trim marker " -}}". */
function atRightTrim(src: string, pos: number): boolean {
  return isSpace(src[pos] ?? '') && src[pos + 1] === '-' && src.startsWith(RIGHT, pos + 2);
}

function trimLeftSpace(s: string): string {
  let i = 0;
  while (i < s.length && isSpace(s[i])) i++;
  return s.slice(i);
}

function trimRightSpace(s: string): string {
  let i = s.length;
  while (i > 0 && isSpace(s[i - 1])) i--;
  return s.slice(0, i);
}

class Lexer {
  private readonly tokens: Token[] = [];
  private pos = 0;
  private line = 1;
  private parenDepth = 0;
  private trimNextText = false;

  constructor(private readonly src: string) {}

  run(): Token[] {
    while (this.pos < this.src.length) {
      const next = this.src.indexOf(LEFT, this.pos);
      const end = next < 0 ? this.src.length : next;
      let text = this.src.slice(this.pos, end);
      const textPos = this.pos;
      const textLine = this.line;
      this.advanceTo(end);
      if (this.trimNextText) text = trimLeftSpace(text);
      this.trimNextText = false;
      if (next >= 0 && hasLeftTrim(this.src, next)) text = trimRightSpace(text);
      if (text !== '') this.tokens.push({type: 'text', value: text, pos: textPos, line: textLine});
      if (next < 0) break;
      this.lexAction();
    }
    this.emit('eof', '', this.pos);
    return this.tokens;
  }

  private fail(msg: string): never {
    throw new TemplateSyntaxError(msg, this.line);
  }

  private emit(type: TokenType, value: string, pos: number, line = this.line): void {
    this.tokens.push({type, value, pos, line});
  }

  /** Moves to `to`, counting newlines. */
  private advanceTo(to: number): void {
    for (let i = this.pos; i < to; i++) if (this.src[i] === '\n') this.line++;
    this.pos = to;
  }

  private lexAction(): void {
    const start = this.pos;
    let p = start + LEFT.length;
    if (hasLeftTrim(this.src, start)) p += 2;
    if (this.src.startsWith('/*', p)) {
      this.lexComment(p);
      return;
    }
    this.emit('leftDelim', LEFT, start);
    this.advanceTo(p);
    this.parenDepth = 0;
    for (;;) {
      if (atRightTrim(this.src, this.pos) || this.src.startsWith(RIGHT, this.pos)) {
        if (this.parenDepth > 0) this.fail('unclosed left paren');
        const trim = atRightTrim(this.src, this.pos);
        const at = this.pos;
        this.advanceTo(this.pos + (trim ? 2 : 0) + RIGHT.length);
        this.emit('rightDelim', RIGHT, at);
        this.trimNextText = trim;
        return;
      }
      if (this.pos >= this.src.length) this.fail('unclosed action');
      this.lexInsideAction();
    }
  }

  private lexComment(p: number): void {
    const close = this.src.indexOf('*/', p + 2);
    if (close < 0) this.fail('unclosed comment');
    let q = close + 2;
    let trim = false;
    if (atRightTrim(this.src, q)) {
      trim = true;
      q += 2;
    }
    if (!this.src.startsWith(RIGHT, q)) this.fail('comment ends before closing delimiter');
    this.advanceTo(q + RIGHT.length);
    this.trimNextText = trim;
  }

  private lexInsideAction(): void {
    const src = this.src;
    const start = this.pos;
    const c = src[start];
    if (isSpace(c)) {
      let q = start;
      while (q < src.length && isSpace(src[q]) && !atRightTrim(src, q)) q++;
      // A lone space before "-}}" belongs to the trim marker.
      if (q === start) q++;
      this.emit('space', src.slice(start, q), start);
      this.advanceTo(q);
      return;
    }
    if (c === ':') {
      if (src[start + 1] !== '=') this.fail('expected :=');
      return this.single('declare', 2);
    }
    if (c === '=') return this.single('assign', 1);
    if (c === '|') return this.single('pipe', 1);
    if (c === ',') return this.single('comma', 1);
    if (c === '(') {
      this.parenDepth++;
      return this.single('leftParen', 1);
    }
    if (c === ')') {
      this.parenDepth--;
      if (this.parenDepth < 0) this.fail('unexpected right paren');
      return this.single('rightParen', 1);
    }
    if (c === '"') return this.lexQuote();
    if (c === '`') return this.lexRawQuote();
    if (c === "'") return this.lexChar();
    if (c === '$') return this.lexVariable();
    if (c === '.') {
      if (/[0-9]/.test(src[start + 1] ?? '')) return this.lexNumber();
      return this.lexField();
    }
    if (c === '+' || c === '-' || /[0-9]/.test(c)) return this.lexNumber();
    if (isAlnum(c)) return this.lexIdentifier();
    this.fail(`unrecognized character in action: ${describeChar(c)}`);
  }

  private single(type: TokenType, len: number): void {
    this.emit(type, this.src.slice(this.pos, this.pos + len), this.pos);
    this.advanceTo(this.pos + len);
  }

  private scanWord(from: number): number {
    let q = from;
    while (q < this.src.length && isAlnum(this.src[q])) q++;
    return q;
  }

  private lexIdentifier(): void {
    const start = this.pos;
    const end = this.scanWord(start);
    this.checkTerminator(end);
    const word = this.src.slice(start, end);
    let type: TokenType = 'identifier';
    if (KEYWORDS.has(word)) type = 'keyword';
    else if (word === 'true' || word === 'false') type = 'bool';
    else if (word === 'nil') type = 'nil';
    this.emit(type, word, start);
    this.advanceTo(end);
  }

  private lexField(): void {
    const start = this.pos;
    const end = this.scanWord(start + 1);
    if (end === start + 1) {
      // A lone dot, unless followed by something that cannot follow it.
      this.checkTerminator(end);
      this.emit('dot', '.', start);
    } else {
      this.checkTerminator(end);
      this.emit('field', this.src.slice(start, end), start);
    }
    this.advanceTo(end);
  }

  private lexVariable(): void {
    const start = this.pos;
    const end = this.scanWord(start + 1);
    this.checkTerminator(end);
    this.emit('variable', this.src.slice(start, end), start);
    this.advanceTo(end);
  }

  /** Go requires a word to be followed by space, punctuation or the delimiter. */
  private checkTerminator(end: number): void {
    const c = this.src[end];
    if (c === undefined || isSpace(c) || '.,|:)('.includes(c) || this.src.startsWith(RIGHT, end)) return;
    this.fail(`bad character ${describeChar(c)}`);
  }

  private lexQuote(): void {
    const start = this.pos;
    let q = start + 1;
    for (;;) {
      const c = this.src[q];
      if (c === undefined || c === '\n') this.fail('unterminated quoted string');
      if (c === '\\') {
        q += 2;
        continue;
      }
      q++;
      if (c === '"') break;
    }
    this.emit('string', this.src.slice(start, q), start);
    this.advanceTo(q);
  }

  private lexRawQuote(): void {
    const start = this.pos;
    const close = this.src.indexOf('`', start + 1);
    if (close < 0) this.fail('unterminated raw quoted string');
    const line = this.line;
    this.advanceTo(close + 1);
    this.emit('rawString', this.src.slice(start, close + 1), start, line);
  }

  private lexChar(): void {
    const start = this.pos;
    let q = start + 1;
    for (;;) {
      const c = this.src[q];
      if (c === undefined || c === '\n') this.fail('unterminated character constant');
      if (c === '\\') {
        q += 2;
        continue;
      }
      q++;
      if (c === "'") break;
    }
    this.emit('char', this.src.slice(start, q), start);
    this.advanceTo(q);
  }

  private lexNumber(): void {
    const start = this.pos;
    const m = /^[+-]?(0[xX][0-9a-fA-F_]*(\.[0-9a-fA-F_]*)?([pP][+-]?[0-9_]+)?|0[bB][01_]+|0[oO][0-7_]+|([0-9_]+\.?[0-9_]*|\.[0-9_]+)([eE][+-]?[0-9_]+)?)i?/.exec(this.src.slice(start));
    const end = start + (m ? m[0].length : 0);
    if (!m || m[0] === '+' || m[0] === '-' || isAlnum(this.src[end] ?? '') || this.src[end] === '.') {
      const word = this.scanWord(start + 1);
      this.fail(`bad number syntax: "${this.src.slice(start, Math.max(word, end + 1))}"`);
    }
    this.emit('number', m[0], start);
    this.advanceTo(end);
  }
}

function describeChar(c: string): string {
  const cp = c.codePointAt(0) ?? 0;
  return `U+${cp.toString(16).toUpperCase().padStart(4, '0')} '${c}'`;
}

export function lex(src: string): Token[] {
  return new Lexer(src).run();
}
