/**
 * Traefik v3 router rule syntax (doc `reference/routing-configuration/http/routing/rules-and-priority.md`,
 * src `pkg/muxer/http/mux.go` via vulcand/predicate): matcher calls combined with `&&`, `||`, `!`
 * and parentheses (`!` binds tightest, then `&&`, then `||`). Values are backtick strings or
 * double-quoted strings with escapes; single quotes are refused, as in v3.
 */
export type RuleNode =
  | { type: 'and' | 'or'; left: RuleNode; right: RuleNode }
  | { type: 'not'; operand: RuleNode }
  | { type: 'call'; name: string; args: string[] };

export class RuleSyntaxError extends Error {
  readonly position: number;
  constructor(message: string, position: number) {
    super(`${message} at position ${position}`);
    this.name = 'RuleSyntaxError';
    this.position = position;
  }
}

type Token =
  | { k: 'ident'; v: string; p: number }
  | { k: 'str'; v: string; p: number }
  | { k: '(' | ')' | ',' | '&&' | '||' | '!' | 'end'; p: number };

function tokenize(rule: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < rule.length) {
    const c = rule[i] as string;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
    } else if (c === '(' || c === ')' || c === ',' || c === '!') {
      out.push({ k: c, p: i });
      i++;
    } else if (rule.startsWith('&&', i) || rule.startsWith('||', i)) {
      out.push({ k: rule.slice(i, i + 2) as '&&' | '||', p: i });
      i += 2;
    } else if (c === '`') {
      const end = rule.indexOf('`', i + 1);
      if (end === -1) throw new RuleSyntaxError('unterminated backtick string', i);
      out.push({ k: 'str', v: rule.slice(i + 1, end), p: i });
      i = end + 1;
    } else if (c === '"') {
      const m = /^"((?:[^"\\]|\\.)*)"/.exec(rule.slice(i));
      if (!m) throw new RuleSyntaxError('unterminated string', i);
      out.push({ k: 'str', v: JSON.parse(m[0]) as string, p: i });
      i += m[0].length;
    } else if (c === "'") {
      throw new RuleSyntaxError('single quotes are not accepted, use backticks', i);
    } else {
      const m = /^[A-Za-z_]\w*/.exec(rule.slice(i));
      if (!m) throw new RuleSyntaxError(`unexpected "${c}"`, i);
      out.push({ k: 'ident', v: m[0], p: i });
      i += m[0].length;
    }
  }
  out.push({ k: 'end', p: rule.length });
  return out;
}

export function parseRule(rule: string): RuleNode {
  const toks = tokenize(rule);
  let i = 0;
  const peek = () => toks[i] as Token;
  const expect = (k: Token['k']) => {
    const t = peek();
    if (t.k !== k) throw new RuleSyntaxError(`expected "${k}", found "${t.k === 'ident' || t.k === 'str' ? t.v : t.k}"`, t.p);
    i++;
    return t;
  };
  function or(): RuleNode {
    let left = and();
    while (peek().k === '||') {
      i++;
      left = { type: 'or', left, right: and() };
    }
    return left;
  }
  function and(): RuleNode {
    let left = unary();
    while (peek().k === '&&') {
      i++;
      left = { type: 'and', left, right: unary() };
    }
    return left;
  }
  function unary(): RuleNode {
    const t = peek();
    if (t.k === '!') {
      i++;
      return { type: 'not', operand: unary() };
    }
    if (t.k === '(') {
      i++;
      const e = or();
      expect(')');
      return e;
    }
    if (t.k === 'ident') {
      i++;
      expect('(');
      const args: string[] = [];
      if (peek().k !== ')') {
        for (;;) {
          const a = expect('str') as { v: string };
          args.push(a.v);
          if (peek().k !== ',') break;
          i++;
        }
      }
      expect(')');
      return { type: 'call', name: t.v, args };
    }
    throw new RuleSyntaxError(t.k === 'end' ? 'unexpected end of rule' : `unexpected "${t.k === 'str' ? t.v : t.k}"`, t.p);
  }
  if (peek().k === 'end') throw new RuleSyntaxError('empty rule', 0);
  const tree = or();
  expect('end');
  return tree;
}
