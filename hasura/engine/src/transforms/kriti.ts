/**
 * Kriti, Hasura's JSON templating language (docs/docs/api-reference/kriti-templating.mdx in Hasura's
 * repository; the language is hasura/kriti-lang at the commit Hasura pins, c8fd863, whose Alex
 * lexer `src/Kriti/Parser/Lexer.x`, Happy grammar `Grammar.y` and evaluator `Eval.hs` this file
 * follows). No maintained JavaScript implementation exists on the npm registry, so this is a
 * small port: a lexer with Kriti's start codes (<0>, <expr>, <string>, <literal>), a recursive
 * descent parser accepting the same grammar, and the evaluator with the standard functions of
 * `Kriti.CustomFunctions.basicFuncMap`.
 *
 * Errors are Kriti's `SerializedError` (error_code, message, source_position) with its spans:
 * lines from 0, columns from 1, end exclusive; a token's span starts where the previous lexeme
 * (whitespace included) ended. A parse error names the offending token but carries the span of
 * the last lexeme scanned, as Kriti's `failure` does (the whole input is lexed before parsing).
 */

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

export interface Pos {
  line: number;
  col: number;
}
export interface Span {
  start: Pos;
  end: Pos;
}

export type ErrorCode = 'Parse Error' | 'Lex Error' | 'Attribute Error' | 'Name Error' | 'Type Error' | 'Index Error' | 'Function Error';

/** Kriti's SerializedError as Hasura renders it (Kriti/Error.hs `ToJSON SerializedError`). */
export class KritiError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly span: Span,
  ) {
    super(message);
  }
  toJSON(): Record<string, unknown> {
    return {
      error_code: this.code,
      message: this.message,
      source_position: { start_line: this.span.start.line, start_column: this.span.start.col, end_line: this.span.end.line, end_column: this.span.end.col },
    };
  }
}

// ── lexer ───────────────────────────────────────────────────────────────────────────────────────

type Sym =
  | ':' | '.' | ',' | '?' | '??' | '==' | '!=' | '>' | '<' | '>=' | '<=' | '&&' | '||' | "'" | '{' | '}' | '{{' | '}}'
  | '[' | ']' | '(' | ')' | '_' | ':=' | 's"' | '"e';

type Token =
  | { t: 'sym'; v: Sym; span: Span }
  | { t: 'str'; v: string; span: Span }
  | { t: 'ident'; v: string; span: Span }
  | { t: 'num'; v: number; text: string; span: Span }
  | { t: 'bool'; v: boolean; span: Span };

/** Kriti's `serializeToken`, for "Unexpected token '…'." */
function tokenText(tok: Token | undefined): string {
  if (!tok) return '';
  switch (tok.t) {
    case 'str': return `"${tok.v}"`;
    case 'ident': return tok.v;
    case 'num': return tok.text;
    case 'bool': return tok.v ? 'true' : 'false';
    case 'sym': return tok.v === 's"' || tok.v === '"e' ? '"' : tok.v;
  }
}

// Sticky: matched at the lexer's position without copying the rest of the input.
const WHITE = /[ \t\n\f\v\r]+/y;
const COMMENT = /#[^\n]*/y;
const IDENT = /(?:\$?[a-zA-Z][$a-zA-Z0-9_-]*|\$)/y;
const BOOL = /(?:true|false)/y;
const INT = /-?[0-9]+/y;
const NUM = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const HEX = /\\u([0-9A-Fa-f]{4})/y;
const STRING_CHARS = /[^\\"{]+/y;
const LITERAL_CHARS = /(?:\\\\|\\`|[^'{])+/y;

function at(re: RegExp, src: string, i: number): string | undefined {
  re.lastIndex = i;
  return re.exec(src)?.[0];
}
const SYMS2: Sym[] = ['??', '==', '!=', '>=', '<=', '&&', '||', ':='];
const SYMS1: Sym[] = [':', '.', ',', '?', '>', '<', '_', '{', '}', '[', ']', '(', ')'];
const STRING_ESCAPES: Record<string, string> = { '\\{': '{', '\\"': '"', '\\\\': '\\', '\\/': '\\/', '\\b': '\b', '\\f': '\f', '\\n': '\n', '\\r': '\r', '\\t': '\t' };

type Mode = 'zero' | 'expr' | 'string' | 'literal';

/** Position after `text` starting at `p`: a newline starts a line at column 1; a character of several UTF-8 bytes does not move the column (Kriti's AlexInput counts only single-byte characters). */
function advance(p: Pos, text: string): Pos {
  let { line, col } = p;
  for (const ch of text) {
    if (ch === '\n') {
      line++;
      col = 1;
    } else if (ch.codePointAt(0)! < 0x80) col++;
  }
  return { line, col };
}

interface Lexed {
  tokens: Token[];
  /** The span of the last lexeme scanned (Kriti's parser state after lexing). */
  last: Span;
}

function lex(src: string): Lexed {
  const tokens: Token[] = [];
  const modes: Mode[] = ['zero'];
  let i = 0;
  let pos: Pos = { line: 0, col: 1 };
  let last: Span = { start: pos, end: pos };
  const take = (text: string): Span => {
    const end = advance(pos, text);
    last = { start: last.end, end };
    pos = end;
    i += text.length;
    return last;
  };
  const mode = () => modes[modes.length - 1]!;
  const pop = () => {
    if (modes.length > 1) modes.pop();
  };
  const lexError = (): never => {
    throw new KritiError('Lex Error', `Invalid Lexeme: '${src}'`, { start: pos, end: { line: pos.line, col: pos.col + Buffer.byteLength(src) } });
  };
  // The longest candidate of <0>/<expr> so far; an earlier offer wins a tie (Alex's rule order).
  let kind = '';
  let text = '';
  const offer = (k: string, t: string | undefined) => {
    if (t !== undefined && t.length > text.length) {
      kind = k;
      text = t;
    }
  };
  while (i < src.length) {
    const m = mode();
    const c0 = src[i]!;
    if (m === 'string') {
      if (src.startsWith('{{', i)) {
        modes.push('expr');
        tokens.push({ t: 'sym', v: '{{', span: take('{{') });
      } else if (c0 === '"') {
        pop();
        tokens.push({ t: 'sym', v: '"e', span: take('"') });
      } else if (c0 === '\\') {
        const hex = at(HEX, src, i);
        if (hex) tokens.push({ t: 'str', v: String.fromCharCode(parseInt(hex.slice(2), 16)), span: take(hex) });
        else {
          const pair = src.slice(i, i + 2);
          const esc = STRING_ESCAPES[pair];
          if (esc === undefined) lexError();
          tokens.push({ t: 'str', v: esc!, span: take(pair) });
        }
      } else if (c0 === '{') {
        tokens.push({ t: 'str', v: '{', span: take('{') });
      } else {
        const lit = at(STRING_CHARS, src, i)!;
        tokens.push({ t: 'str', v: lit, span: take(lit) });
      }
      continue;
    }
    if (m === 'literal') {
      if (c0 === "'") {
        pop();
        tokens.push({ t: 'sym', v: "'", span: take("'") });
        continue;
      }
      const lit = at(LITERAL_CHARS, src, i);
      if (!lit) lexError();
      tokens.push({ t: 'str', v: lit!, span: take(lit!) });
      continue;
    }
    // <0> and <expr>: the longest match wins, the earlier rule on a tie (Alex).
    const white = at(WHITE, src, i) ?? at(COMMENT, src, i);
    if (white) {
      take(white);
      continue;
    }
    // No closures created here: this loop runs per token.
    kind = '';
    text = '';
    offer('bool', at(BOOL, src, i));
    offer('ident', at(IDENT, src, i));
    offer('int', at(INT, src, i));
    offer('num', at(NUM, src, i));
    if (c0 === '"') offer('s"', '"');
    if (c0 === "'") offer("'", "'");
    const two = src.slice(i, i + 2);
    if (two === '{{') offer('{{', two);
    else if (two === '}}' && m === 'expr') offer('}}', two);
    else if ((SYMS2 as string[]).includes(two)) offer('sym', two);
    if ((SYMS1 as string[]).includes(c0)) offer('sym', c0);
    if (!kind) lexError();
    switch (kind) {
      case 'bool':
        tokens.push({ t: 'bool', v: text === 'true', span: take(text) });
        break;
      case 'ident':
        tokens.push({ t: 'ident', v: text, span: take(text) });
        break;
      case 'int':
      case 'num':
        tokens.push({ t: 'num', v: Number(text), text, span: take(text) });
        break;
      case 's"':
        modes.push('string');
        tokens.push({ t: 'sym', v: 's"', span: take(text) });
        break;
      case "'":
        modes.push('literal');
        tokens.push({ t: 'sym', v: "'", span: take(text) });
        break;
      case '{{':
        modes.push('expr');
        tokens.push({ t: 'sym', v: '{{', span: take(text) });
        break;
      case '}}':
        pop();
        tokens.push({ t: 'sym', v: '}}', span: take(text) });
        break;
      default:
        tokens.push({ t: 'sym', v: text as Sym, span: take(text) });
    }
  }
  return { tokens, last };
}

// ── AST and parser ──────────────────────────────────────────────────────────────────────────────

type Field = { name: string } | { expr: Node };

export type Node =
  | { k: 'object'; span: Span; fields: Array<[string, Node]> }
  | { k: 'array'; span: Span; items: Node[] }
  | { k: 'string'; span: Span; v: string }
  | { k: 'number'; span: Span; v: number }
  | { k: 'bool'; span: Span; v: boolean }
  | { k: 'null'; span: Span }
  | { k: 'template'; span: Span; parts: Node[] }
  | { k: 'var'; span: Span; name: string }
  | { k: 'field'; span: Span; base: Node; field: Field }
  | { k: 'optional'; span: Span; base: Node; fields: Field[] }
  | { k: 'if'; span: Span; cond: Node; then: Node; elifs: Array<{ span: Span; cond: Node; then: Node }>; else: Node }
  | { k: 'binop'; span: Span; op: '==' | '!=' | '>' | '<' | '>=' | '<=' | '&&' | '||' | 'in' | '??'; l: Node; r: Node }
  | { k: 'range'; span: Span; index: string | null; binder: string; over: Node; body: Node }
  | { k: 'call'; span: Span; name: string; arg: Node };

const join = (a: Span, b: Span): Span => ({
  start: cmp(a.start, b.start) <= 0 ? a.start : b.start,
  end: cmp(a.end, b.end) >= 0 ? a.end : b.end,
});
function cmp(a: Pos, b: Pos): number {
  return a.line - b.line || a.col - b.col;
}

/**
 * Nesting deeper than this (brackets, parentheses, templates, `not`, a chain of field accesses) is
 * refused as a parse error: the parser and evaluator recurse, and a hostile template must not
 * exhaust the stack (Kriti in Haskell has no such limit; no real template comes near it).
 */
export const MAX_NESTING = 256;

/** Identifiers the grammar reserves (Grammar.y matches them before `ident`). */
const KEYWORDS = new Set(['if', 'elif', 'else', 'end', 'null', 'range', 'in', 'not']);
const BINOPS = new Set(['==', '!=', '>', '<', '>=', '<=', '&&', '||', '??']);

class Parser {
  private i = 0;
  private depth = 0;
  constructor(
    private readonly toks: Token[],
    private readonly last: Span,
  ) {}

  private peek(n = 0): Token | undefined {
    return this.toks[this.i + n];
  }
  private fail(): never {
    const tok = this.peek();
    if (!tok) throw new KritiError('Parse Error', 'ParseError: Empty token stream.', this.last);
    throw new KritiError('Parse Error', `Unexpected token '${tokenText(tok)}'.`, this.last);
  }
  private isSym(v: Sym, n = 0): boolean {
    const t = this.peek(n);
    return t?.t === 'sym' && t.v === v;
  }
  private isKw(v: string, n = 0): boolean {
    const t = this.peek(n);
    return t?.t === 'ident' && t.v === v;
  }
  private sym(v: Sym): Span {
    const t = this.peek();
    if (t?.t !== 'sym' || t.v !== v) this.fail();
    this.i++;
    return t.span;
  }
  private kw(v: string): Span {
    const t = this.peek();
    if (t?.t !== 'ident' || t.v !== v) this.fail();
    this.i++;
    return t.span;
  }
  private ident(): { v: string; span: Span } {
    const t = this.peek();
    if (t?.t !== 'ident' || KEYWORDS.has(t.v)) this.fail();
    this.i++;
    return t;
  }

  parseAll(): Node {
    const e = this.expr();
    if (this.i < this.toks.length) this.fail();
    return e;
  }

  private tooDeep(): never {
    throw new KritiError('Parse Error', `Template nested more than ${MAX_NESTING} levels deep.`, this.last);
  }

  expr(): Node {
    if (++this.depth > MAX_NESTING) this.tooDeep();
    try {
      return this.exprInner();
    } finally {
      this.depth--;
    }
  }

  private exprInner(): Node {
    if (this.isSym('{{') && !this.isKw('range', 1) && !this.isKw('if', 1)) {
      this.i++;
      const e = this.expr();
      this.sym('}}');
      return e;
    }
    const t = this.peek();
    if (t?.t === 'ident' && t.v === 'not') {
      this.i++;
      const arg = this.expr();
      return { k: 'call', span: join(t.span, arg.span), name: 'not', arg };
    }
    if (t?.t === 'ident' && !KEYWORDS.has(t.v) && this.isSym('(', 1)) {
      this.i += 2;
      const arg = this.expr();
      const close = this.sym(')');
      return { k: 'call', span: join(t.span, close), name: t.v, arg };
    }
    const l = this.atom();
    const op = this.peek();
    if (op?.t === 'sym' && BINOPS.has(op.v)) {
      this.i++;
      const r = this.atom();
      return { k: 'binop', span: join(l.span, r.span), op: op.v as '==', l, r };
    }
    if (op?.t === 'ident' && op.v === 'in') {
      this.i++;
      const r = this.atom();
      return { k: 'binop', span: join(l.span, r.span), op: 'in', l, r };
    }
    return l;
  }

  /** `'[' '\'' string '\'' ']'` or `'[' atom ']'`, after the '['. */
  private index(): { field: Field; close: Span } {
    if (this.isSym("'")) {
      this.i++;
      const s = this.peek();
      if (s?.t !== 'str') this.fail();
      this.i++;
      this.sym("'");
      const close = this.sym(']');
      return { field: { expr: { k: 'string', span: s.span, v: s.v } }, close };
    }
    const e = this.atom();
    return { field: { expr: e }, close: this.sym(']') };
  }

  atom(): Node {
    let base = this.primary();
    for (let steps = this.depth; ; steps++) {
      if (steps > MAX_NESTING) this.tooDeep();
      if (this.isSym('.')) {
        this.i++;
        const id = this.ident();
        base = { k: 'field', span: join(base.span, id.span), base, field: { name: id.v } };
      } else if (this.isSym('[')) {
        this.i++;
        const { field, close } = this.index();
        base = { k: 'field', span: join(base.span, close), base, field };
      } else if (this.isSym('?')) {
        this.i++;
        const fields: Field[] = [];
        for (;;) {
          if (this.isSym('.')) {
            this.i++;
            fields.push({ name: this.ident().v });
          } else if (this.isSym('[')) {
            this.i++;
            fields.push(this.index().field);
          } else break;
        }
        // OptionalFieldAccess keeps the span of its base (Grammar.y `locate $1`).
        base = { k: 'optional', span: base.span, base, fields };
      } else return base;
    }
  }

  private primary(): Node {
    const t = this.peek();
    if (!t) this.fail();
    if (t.t === 'sym') {
      switch (t.v) {
        case '(': {
          this.i++;
          const e = this.expr();
          this.sym(')');
          return e;
        }
        case '{{':
          if (this.isKw('range', 1)) return this.range();
          if (this.isKw('if', 1)) return this.iff();
          return this.fail();
        case 's"':
          return this.stringLit();
        case '[':
          return this.array();
        case '{':
          return this.object();
        default:
          return this.fail();
      }
    }
    this.i++;
    if (t.t === 'num') return { k: 'number', span: t.span, v: t.v };
    if (t.t === 'bool') return { k: 'bool', span: t.span, v: t.v };
    if (t.t === 'ident') {
      if (t.v === 'null') return { k: 'null', span: t.span };
      if (KEYWORDS.has(t.v)) {
        this.i--;
        this.fail();
      }
      return { k: 'var', span: t.span, name: t.v };
    }
    this.i--;
    return this.fail();
  }

  private range(): Node {
    const open = this.sym('{{');
    this.kw('range');
    let index: string | null = null;
    if (this.isSym('_')) this.i++;
    else index = this.ident().v;
    this.sym(',');
    const binder = this.ident().v;
    this.sym(':=');
    const over = this.expr();
    this.sym('}}');
    const body = this.expr();
    this.sym('{{');
    this.kw('end');
    const close = this.sym('}}');
    return { k: 'range', span: join(open, close), index, binder, over, body };
  }

  private iff(): Node {
    const open = this.sym('{{');
    this.kw('if');
    const cond = this.expr();
    this.sym('}}');
    const then = this.expr();
    const elifs: Array<{ span: Span; cond: Node; then: Node }> = [];
    while (this.isSym('{{') && this.isKw('elif', 1)) {
      this.i++;
      const kw = this.kw('elif');
      const c = this.expr();
      this.sym('}}');
      elifs.push({ span: join(kw, c.span), cond: c, then: this.expr() });
    }
    this.sym('{{');
    this.kw('else');
    this.sym('}}');
    const otherwise = this.expr();
    this.sym('{{');
    this.kw('end');
    const close = this.sym('}}');
    return { k: 'if', span: join(open, close), cond, then, elifs, else: otherwise };
  }

  private stringLit(): Node {
    const open = this.sym('s"');
    const parts: Node[] = [];
    for (;;) {
      const t = this.peek();
      if (t?.t === 'str') {
        this.i++;
        parts.push({ k: 'string', span: t.span, v: t.v });
      } else if (t?.t === 'sym' && t.v === '{{') {
        this.i++;
        parts.push(this.expr());
        this.sym('}}');
      } else break;
    }
    const close = this.sym('"e');
    return { k: 'template', span: join(open, close), parts };
  }

  private array(): Node {
    const open = this.sym('[');
    const items: Node[] = [];
    if (!this.isSym(']')) {
      items.push(this.expr());
      while (this.isSym(',')) {
        this.i++;
        items.push(this.expr());
      }
    }
    return { k: 'array', span: join(open, this.sym(']')), items };
  }

  private object(): Node {
    const open = this.sym('{');
    const fields: Array<[string, Node]> = [];
    if (!this.isSym('}')) {
      for (;;) {
        this.sym('s"');
        let key = '';
        while (this.peek()?.t === 'str') key += (this.toks[this.i++] as { v: string }).v;
        this.sym('"e');
        this.sym(':');
        fields.push([key, this.expr()]);
        if (!this.isSym(',')) break;
        this.i++;
      }
    }
    return { k: 'object', span: join(open, this.sym('}')), fields };
  }
}

/**
 * Templates parsed once: they come from the metadata (a few per trigger) and run on every
 * delivery. Bounded: cleared when full. A template that fails to parse is not kept.
 */
const parsed = new Map<string, Node>();
const PARSED_MAX = 1000;
function parsedTemplate(src: string): Node {
  let ast = parsed.get(src);
  if (!ast) {
    ast = parseKriti(src);
    if (parsed.size >= PARSED_MAX) parsed.clear();
    parsed.set(src, ast);
  }
  return ast;
}

/** Parses a template; throws KritiError (Parse Error / Lex Error). */
export function parseKriti(src: string): Node {
  const { tokens, last } = lex(src);
  return new Parser(tokens, last).parseAll();
}

// ── evaluation ──────────────────────────────────────────────────────────────────────────────────

export type KritiFunction = (arg: Json) => Json;
/** Thrown by a function: becomes a Function Error at the argument's span (Eval.hs `FunctionError`). */
export class FunctionError extends Error {}

const typeName = (v: Json): string =>
  v === null ? 'Null' : Array.isArray(v) ? 'Array' : typeof v === 'object' ? 'Object' : typeof v === 'string' ? 'String' : typeof v === 'number' ? 'Number' : 'Boolean';

const typeError = (span: Span, v: Json, expected: string) =>
  new KritiError('Type Error', `Couldn't match expected type '${expected}' with actual type '${typeName(v)}'`, span);

const isObject = (v: Json): v is { [k: string]: Json } => v !== null && typeof v === 'object' && !Array.isArray(v);
const has = (o: object, k: string) => Object.prototype.hasOwnProperty.call(o, k);

/** Aeson's Value equality (numbers by value, objects regardless of key order). */
export function jsonEqual(a: Json, b: Json): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]!));
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => has(b, k) && jsonEqual(a[k]!, b[k]!));
  }
  return false;
}

/** Aeson's derived `Ord Value`: Object < Array < String < Number < Bool < Null, then by content. */
function jsonCompare(a: Json, b: Json): number {
  const rank = (v: Json) => (isObject(v) ? 0 : Array.isArray(v) ? 1 : typeof v === 'string' ? 2 : typeof v === 'number' ? 3 : typeof v === 'boolean' ? 4 : 5);
  const ra = rank(a);
  const rb = rank(b);
  if (ra !== rb) return ra - rb;
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'boolean' && typeof b === 'boolean') return Number(a) - Number(b);
  if (Array.isArray(a) && Array.isArray(b)) {
    for (let i = 0; i < Math.min(a.length, b.length); i++) {
      const c = jsonCompare(a[i]!, b[i]!);
      if (c) return c;
    }
    return a.length - b.length;
  }
  if (isObject(a) && isObject(b)) {
    const pa = Object.keys(a).sort().map((k) => [k, a[k]!] as Json);
    const pb = Object.keys(b).sort().map((k) => [k, b[k]!] as Json);
    return jsonCompare(pa, pb);
  }
  return 0;
}

/** Objects with their keys sorted: Aeson's KeyMap is ordered by key, so Hasura emits them so. */
function sortedObject(o: Record<string, Json>): Record<string, Json> {
  const out: Record<string, Json> = {};
  for (const k of Object.keys(o).sort()) out[k] = o[k]!;
  return out;
}

/** `J.encode`, for values spliced into a string template. */
export function encodeJson(v: Json): string {
  return JSON.stringify(v);
}

/** `URI.escapeURIString isUnreserved`: everything but ALPHA / DIGIT / - . _ ~ percent-encoded as UTF-8. */
export function escapeUri(s: string): string {
  let out = '';
  for (const ch of s) {
    if (/^[A-Za-z0-9\-._~]$/.test(ch)) out += ch;
    else for (const b of Buffer.from(ch, 'utf8')) out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

const aesonMismatch = (name: string, expected: string, v: Json) =>
  new FunctionError(`parsing ${name} failed, expected ${expected}, but encountered ${typeName(v)}`);

const withText = (f: (s: string) => string): KritiFunction => (v) => {
  if (typeof v !== 'string') throw aesonMismatch('String', 'String', v);
  return f(v);
};

/** Kriti.CustomFunctions.basicFuncMap. */
export const basicFunctions: Record<string, KritiFunction> = {
  empty: (v) => {
    if (isObject(v)) return Object.keys(v).length === 0;
    if (Array.isArray(v)) return v.length === 0;
    if (typeof v === 'string') return v.trim() === '';
    if (typeof v === 'number') return v === 0;
    if (typeof v === 'boolean') throw new FunctionError('Cannot define emptiness for a boolean');
    return true;
  },
  size: (v) => {
    if (isObject(v)) return Object.keys(v).length;
    if (Array.isArray(v)) return v.length;
    if (typeof v === 'string') return [...v].length;
    if (typeof v === 'number') return v;
    if (typeof v === 'boolean') return v ? 1 : 0;
    return 0;
  },
  inverse: (v) => {
    if (Array.isArray(v)) return [...v].reverse();
    if (typeof v === 'string') return [...v].reverse().join('');
    if (typeof v === 'number') {
      if (v === 0) throw new FunctionError('Cannot take the inverse of 0');
      return 1 / v;
    }
    if (typeof v === 'boolean') return !v;
    return v;
  },
  head: (v) => {
    if (Array.isArray(v)) {
      if (!v.length) throw new FunctionError('Empty array');
      return v[0]!;
    }
    if (typeof v === 'string') {
      const first = [...v][0];
      if (first === undefined) throw new FunctionError('Empty string');
      return first;
    }
    throw new FunctionError('Expected an array or string');
  },
  tail: (v) => {
    // Data.Vector.tail / Data.Text.tail of an empty value is an exception in Haskell; an error here.
    if (Array.isArray(v)) {
      if (!v.length) throw new FunctionError('Empty array');
      return v.slice(1);
    }
    if (typeof v === 'string') {
      if (!v.length) throw new FunctionError('Empty string');
      return [...v].slice(1).join('');
    }
    throw new FunctionError('Expected an array or string');
  },
  toCaseFold: withText((s) => s.toLowerCase()),
  toLower: withText((s) => s.toLowerCase()),
  toUpper: withText((s) => s.toUpperCase()),
  // Data.Text.toTitle: each word's first letter upper case, the rest lower case.
  toTitle: withText((s) => s.replace(/\p{L}[\p{L}\p{M}'\d]*/gu, (w) => w.charAt(0).toUpperCase() + w.slice(1).toLowerCase())),
  escapeUri: withText(escapeUri),
  fromPairs: (v) => {
    if (!Array.isArray(v)) throw aesonMismatch('Nested Arrays', 'Array', v);
    const out: Record<string, Json> = {};
    for (const p of v) {
      if (!Array.isArray(p)) throw aesonMismatch('Array of Pair', 'Array', p);
      if (p.length !== 2 || typeof p[0] !== 'string') throw new FunctionError('Expected an array of shape [ [k1,v1], [k2,v2] ... ] - With String keys.');
      // J.object: a later pair with the same key wins.
      out[p[0]] = p[1]!;
    }
    return sortedObject(out);
  },
  toPairs: (v) => {
    if (!isObject(v)) throw aesonMismatch('Object', 'Object', v);
    return Object.keys(v).sort().map((k) => [k, v[k]!]);
  },
  removeNulls: (v) => {
    if (!Array.isArray(v)) throw aesonMismatch('Array', 'Array', v);
    return v.filter((x) => x !== null);
  },
  concat: (v) => {
    if (!Array.isArray(v)) throw aesonMismatch('Array', 'Array', v);
    if (v.every((x) => Array.isArray(x))) return (v as Json[][]).flat();
    if (v.every((x) => typeof x === 'string')) return (v as string[]).join('');
    if (v.every((x) => isObject(x))) {
      // `fold . reverse` of left-biased unions: the later object's key wins.
      const out: Record<string, Json> = {};
      for (const o of v as Array<Record<string, Json>>) Object.assign(out, o);
      return sortedObject(out);
    }
    const bad = v.find((x) => !isObject(x)) ?? null;
    throw aesonMismatch('Nested Object', 'Object', bad);
  },
  not: (v) => {
    if (typeof v !== 'boolean') throw aesonMismatch('Bool', 'Boolean', v);
    return !v;
  },
};

type Scope = Map<string, Json>;

/** Evaluates `node`; `ev` below is the recursion, spelled as a call so no closure is made per node. */
function evaluate(node: Node, scope: Scope, fns: Record<string, KritiFunction>): Json {
  switch (node.k) {
    case 'string':
      return node.v;
    case 'number':
      return node.v;
    case 'bool':
      return node.v;
    case 'null':
      return null;
    case 'object': {
      // Compat.fromList of the reversed field list: the first occurrence of a key wins; evaluated in key order.
      const first = new Map<string, Node>();
      for (const [k, v] of node.fields) if (!first.has(k)) first.set(k, v);
      const out: Record<string, Json> = {};
      for (const k of [...first.keys()].sort()) out[k] = evaluate(first.get(k)!, scope, fns);
      return out;
    }
    case 'array':
      return node.items.map((n) => evaluate(n, scope, fns));
    case 'template':
      return node.parts.map((p) => {
        const v = evaluate(p, scope, fns);
        return typeof v === 'string' ? v : encodeJson(v);
      }).join('');
    case 'var': {
      if (!scope.has(node.name)) throw new KritiError('Name Error', `Variable '${node.name}' not in scope`, node.span);
      return scope.get(node.name)!;
    }
    case 'field': {
      const base = evaluate(node.base, scope, fns);
      if ('name' in node.field) {
        if (!isObject(base)) throw typeError(node.base.span, base, 'Object');
        if (!has(base, node.field.name)) throw new KritiError('Attribute Error', `'Object' has no attribute '${node.field.name}'.`, node.span);
        return base[node.field.name]!;
      }
      if (isObject(base)) {
        const key = evaluate(node.field.expr, scope, fns);
        if (typeof key !== 'string') throw typeError(node.base.span, key, 'String');
        if (!has(base, key)) throw new KritiError('Attribute Error', `'Object' has no attribute '${key}'.`, node.span);
        return base[key]!;
      }
      if (Array.isArray(base)) {
        const idx = evaluate(node.field.expr, scope, fns);
        if (typeof idx !== 'number' || !Number.isInteger(idx)) throw typeError(node.span, idx, 'Integer');
        // Kriti serialises an IndexError with this message (Eval.hs `serialize (IndexError …)`).
        if (idx < 0 || idx >= base.length) throw new KritiError('Index Error', 'Can only range over an array', node.span);
        return base[idx]!;
      }
      throw typeError(node.base.span, base, 'Object');
    }
    case 'optional': {
      let base: Json;
      try {
        base = evaluate(node.base, scope, fns);
      } catch (err) {
        if (!(err instanceof KritiError)) throw err;
        base = null;
      }
      const path = node.fields.map((f) => ('name' in f ? f.name : evaluate(f.expr, scope, fns)));
      if (base === null) return null;
      if (!isObject(base) && !Array.isArray(base)) throw typeError(node.base.span, base, 'Object');
      let cur: Json = base;
      for (const step of path) {
        if (typeof step === 'string' && isObject(cur) && has(cur, step)) cur = cur[step]!;
        else if (typeof step === 'number' && Number.isInteger(step) && Array.isArray(cur) && step >= 0 && step < cur.length) cur = cur[step]!;
        else return null;
      }
      return cur;
    }
    case 'if': {
      const test = (span: Span, cond: Node): boolean => {
        const c = evaluate(cond, scope, fns);
        if (typeof c !== 'boolean') throw typeError(span, c, 'Boolean');
        return c;
      };
      if (test(node.span, node.cond)) return evaluate(node.then, scope, fns);
      for (const e of node.elifs) if (test(e.span, e.cond)) return evaluate(e.then, scope, fns);
      return evaluate(node.else, scope, fns);
    }
    case 'binop': {
      if (node.op === '??') {
        const l = evaluate(node.l, scope, fns);
        return l === null ? evaluate(node.r, scope, fns) : l;
      }
      const l = evaluate(node.l, scope, fns);
      const r = evaluate(node.r, scope, fns);
      switch (node.op) {
        case '==': return jsonEqual(l, r);
        case '!=': return !jsonEqual(l, r);
        case '<': return jsonCompare(l, r) < 0;
        case '>': return jsonCompare(l, r) > 0;
        case '<=': return jsonCompare(l, r) <= 0;
        case '>=': return jsonCompare(l, r) >= 0;
        case '&&':
        case '||':
          if (typeof l !== 'boolean') throw typeError(node.span, typeof r === 'boolean' ? l : r, 'Boolean');
          if (typeof r !== 'boolean') throw typeError(node.span, r, 'Boolean');
          return node.op === '&&' ? l && r : l || r;
        case 'in':
          if (isObject(r)) {
            if (typeof l !== 'string') throw typeError(node.span, l, 'String');
            return has(r, l);
          }
          if (Array.isArray(r)) return r.some((x) => jsonEqual(x, l));
          throw typeError(node.span, r, 'Array');
      }
      return null;
    }
    case 'range': {
      const over = evaluate(node.over, scope, fns);
      if (!Array.isArray(over)) throw typeError(node.span, over, 'Array');
      return over.map((v, i) => {
        const inner = new Map(scope);
        inner.set(node.binder, v);
        if (node.index !== null) inner.set(node.index, i);
        return evaluate(node.body, inner, fns);
      });
    }
    case 'call': {
      const arg = evaluate(node.arg, scope, fns);
      const f = Object.prototype.hasOwnProperty.call(fns, node.name) ? fns[node.name] : undefined;
      if (!f) throw new KritiError('Name Error', `Variable '${node.name}' not in scope`, node.span);
      try {
        return f(arg);
      } catch (err) {
        if (err instanceof FunctionError) throw new KritiError('Function Error', err.message, node.arg.span);
        throw err;
      }
    }
  }
}

/** Kriti's `runKritiWith`: parse, then evaluate against the bindings with basicFuncMap plus `extra`. */
export function runKriti(src: string, bindings: Record<string, Json>, extra: Record<string, KritiFunction> = {}): Json {
  const ast = parsedTemplate(src);
  return evaluate(ast, new Map(Object.entries(bindings)), { ...basicFunctions, ...extra });
}
