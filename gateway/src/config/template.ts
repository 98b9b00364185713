/**
 * The subset of Go `text/template` + sprig that Traefik's file provider evaluates before parsing a
 * dynamic file (traefik `pkg/provider/file/file.go`: every file is rendered with sprig functions).
 * Supported, and nothing else (anything else is an error naming the line):
 *   {{ env "NAME" }}                      sprig `env`: the variable, "" when unset
 *   {{ env "NAME" | default "value" }}    sprig `default`: the value when the piped one is empty
 *   {{ default "value" (env "NAME") }}    the same, in call form
 *   {{ "literal" }}, {{ x | quote }}      string literals and sprig `quote`
 *   {{ if PIPELINE }} … {{ else }} … {{ end }}   truth = non-empty string, as Go's `if`
 *   {{- … -}}                             trim markers; template comments (slash-star … star-slash)
 */
export class TemplateError extends Error {
  readonly line: number;
  constructor(message: string, line: number) {
    super(`line ${line}: ${message}`);
    this.name = 'TemplateError';
    this.line = line;
  }
}

type Env = Record<string, string | undefined>;
type Node =
  | { kind: 'text'; text: string }
  | { kind: 'expr'; src: string; line: number }
  | { kind: 'if'; cond: { src: string; line: number }; then: Node[]; else: Node[] };

interface Action {
  body: string;
  line: number;
  start: number;
  end: number;
}

function lineAt(src: string, index: number): number {
  let n = 1;
  for (let i = 0; i < index; i++) if (src.charCodeAt(i) === 10) n++;
  return n;
}

/** Splits the source into text and actions, applying the `{{-`/`-}}` whitespace trims. */
function lex(src: string): Array<string | Action> {
  const out: Array<string | Action> = [];
  let pos = 0;
  let trimNext = false;
  for (;;) {
    const open = src.indexOf('{{', pos);
    let text = src.slice(pos, open === -1 ? undefined : open);
    if (trimNext) text = text.replace(/^\s+/, '');
    if (open === -1) {
      out.push(text);
      return out;
    }
    const close = src.indexOf('}}', open + 2);
    if (close === -1) throw new TemplateError('unclosed action', lineAt(src, open));
    let body = src.slice(open + 2, close);
    if (/^-\s/.test(body)) {
      text = text.replace(/\s+$/, '');
      body = body.slice(1);
    }
    trimNext = /\s-$/.test(body);
    if (trimNext) body = body.slice(0, -1);
    out.push(text, { body: body.trim(), line: lineAt(src, open), start: open, end: close + 2 });
    pos = close + 2;
  }
}

function parse(items: Array<string | Action>): Node[] {
  let i = 0;
  function block(): { nodes: Node[]; stop?: 'else' | 'end'; line?: number } {
    const nodes: Node[] = [];
    while (i < items.length) {
      const it = items[i++] as string | Action;
      if (typeof it === 'string') {
        if (it) nodes.push({ kind: 'text', text: it });
        continue;
      }
      if (it.body.startsWith('/*')) {
        if (!it.body.endsWith('*/')) throw new TemplateError('unclosed comment', it.line);
        continue;
      }
      if (it.body === 'else' || it.body === 'end') return { nodes, stop: it.body, line: it.line };
      const m = /^if\s+(.+)$/s.exec(it.body);
      if (m) {
        const thenPart = block();
        let elsePart: Node[] = [];
        if (thenPart.stop === 'else') {
          const e = block();
          if (e.stop !== 'end') throw new TemplateError('missing {{ end }} for {{ if }}', it.line);
          elsePart = e.nodes;
        } else if (thenPart.stop !== 'end') throw new TemplateError('missing {{ end }} for {{ if }}', it.line);
        nodes.push({ kind: 'if', cond: { src: m[1] as string, line: it.line }, then: thenPart.nodes, else: elsePart });
        continue;
      }
      nodes.push({ kind: 'expr', src: it.body, line: it.line });
    }
    return { nodes };
  }
  const top = block();
  if (top.stop) throw new TemplateError(`unexpected {{ ${top.stop} }}`, top.line ?? 0);
  return top.nodes;
}

type Tok = { t: 'str'; v: string } | { t: 'ident'; v: string } | { t: 'pipe' } | { t: 'lp' } | { t: 'rp' };

function tokenize(src: string, line: number): Tok[] {
  const toks: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i] as string;
    if (/\s/.test(c)) i++;
    else if (c === '|') (toks.push({ t: 'pipe' }), i++);
    else if (c === '(') (toks.push({ t: 'lp' }), i++);
    else if (c === ')') (toks.push({ t: 'rp' }), i++);
    else if (c === '"') {
      const m = /^"((?:[^"\\]|\\.)*)"/.exec(src.slice(i));
      if (!m) throw new TemplateError('unterminated string', line);
      toks.push({ t: 'str', v: JSON.parse(m[0]) as string });
      i += m[0].length;
    } else if (c === '`') {
      const end = src.indexOf('`', i + 1);
      if (end === -1) throw new TemplateError('unterminated raw string', line);
      toks.push({ t: 'str', v: src.slice(i + 1, end) });
      i = end + 1;
    } else {
      const m = /^[A-Za-z_][\w]*/.exec(src.slice(i));
      if (!m) throw new TemplateError(`unexpected "${c}" in action`, line);
      toks.push({ t: 'ident', v: m[0] });
      i += m[0].length;
    }
  }
  return toks;
}

const functions: Record<string, (env: Env, args: string[], line: number) => string> = {
  env: (env, args, line) => {
    if (args.length !== 1) throw new TemplateError('env takes one argument', line);
    return env[args[0] as string] ?? '';
  },
  default: (_env, args, line) => {
    if (args.length !== 2) throw new TemplateError('default takes two arguments', line);
    return (args[1] as string) !== '' ? (args[1] as string) : (args[0] as string);
  },
  quote: (_env, args) => args.map((a) => JSON.stringify(a)).join(' '),
};

function evalPipeline(src: string, line: number, env: Env): string {
  const toks = tokenize(src, line);
  let i = 0;
  function operand(): string {
    const t = toks[i];
    if (!t) throw new TemplateError('missing operand', line);
    if (t.t === 'str') return (i++, t.v);
    if (t.t === 'lp') {
      i++;
      const v = pipeline();
      if (toks[i]?.t !== 'rp') throw new TemplateError('missing )', line);
      i++;
      return v;
    }
    if (t.t === 'ident') {
      if (!functions[t.v]) throw new TemplateError(`function "${t.v}" not supported`, line);
      return (i++, call(t.v, []));
    }
    throw new TemplateError('unexpected token', line);
  }
  function call(name: string, piped: string[]): string {
    const fn = functions[name];
    if (!fn) throw new TemplateError(`function "${name}" not supported`, line);
    const args: string[] = [];
    while (i < toks.length && toks[i]?.t !== 'pipe' && toks[i]?.t !== 'rp') args.push(operand());
    return fn(env, [...args, ...piped], line);
  }
  function command(piped?: string): string {
    const t = toks[i];
    if (t?.t === 'ident') {
      i++;
      return call(t.v, piped === undefined ? [] : [piped]);
    }
    if (piped !== undefined) throw new TemplateError('can only pipe into a function', line);
    return operand();
  }
  function pipeline(): string {
    let v = command();
    while (toks[i]?.t === 'pipe') {
      i++;
      v = command(v);
    }
    return v;
  }
  const v = pipeline();
  if (i !== toks.length) throw new TemplateError(`unexpected tokens in "${src}"`, line);
  return v;
}

function render(nodes: Node[], env: Env): string {
  let out = '';
  for (const n of nodes) {
    if (n.kind === 'text') out += n.text;
    else if (n.kind === 'expr') out += evalPipeline(n.src, n.line, env);
    else out += render(evalPipeline(n.cond.src, n.cond.line, env) !== '' ? n.then : n.else, env);
  }
  return out;
}

/** Renders `source` like Traefik's file provider would with the given environment. */
export function renderTemplate(source: string, env: Env): string {
  return render(parse(lex(source)), env);
}
