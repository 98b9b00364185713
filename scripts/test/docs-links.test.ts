/**
 * The repository stands alone (issue 10 item 6): every "see docs/<page>.md §<id>" or
 * `docs/<page>.md "<heading>"` reference in it resolves to a file under docs/ and a heading there,
 * and nothing points outside the checkout to the design and research it once cited
 * (`../shared/DESIGN.md`, `research §C.5`, `STYLE.md §7` …). The one allowed exception is the Hasura
 * suite's default location (`../shared/hasura-suite`), which is configurable and documented in
 * docs/hasura-suite.md.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

const root = path.resolve(import.meta.dirname, '..', '..');

/** Text files that carry comments or prose; data (lock files, upstream YAML) is left out. */
const TEXT = /\.(?:ts|mts|js|mjs|cjs|md|ya?ml|sql|json|sh)$|(?:^|\/)(?:Dockerfile|run)$/;
const SKIP_DIRS = new Set(['node_modules', '.git', '.data', 'dist']);
/** Upstream Hasura test data (not ours, not prose), and generated lock files. */
const SKIP_PATHS = [/^hasura\/engine\/conformance\/upstream\/queries\//, /(?:^|\/)package-lock\.json$/];

function repoFiles(dir = root, out: string[] = []): string[] {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    if (SKIP_DIRS.has(e.name) || (e.name.startsWith('.') && e.name !== '.ci')) continue;
    const abs = path.join(dir, e.name);
    const rel = path.relative(root, abs).split(path.sep).join('/');
    if (e.isDirectory()) repoFiles(abs, out);
    else if (TEXT.test(rel) && !SKIP_PATHS.some((re) => re.test(rel))) out.push(rel);
  }
  return out;
}

export interface Citation {
  file: string;
  line: number;
  target: string;
  sections: string[];
  heading?: string;
}

const SECTION = String.raw`§([0-9]+(?:\.[0-9]+)*|[A-Z](?:\.[0-9]+)*)(?![\w.]*[\w])`;
/**
 * Our pages are lower-case (`docs/research/hasura-v2.md`); upstream doc paths that code also cites,
 * such as fastify's `docs/Guides/Testing.md` or Hasura's `docs/docs/…/jwt.mdx`, are not ours.
 */
const CITE = /(?<![\w/.-])docs\/((?:[a-z0-9-]+\/)*[a-z0-9_.-]+?\.md)(?![\w])/g;

/**
 * The citations of one text. After `docs/<page>.md` come, optionally, section ids (`§C.4, §C.5`,
 * `§A.4 root fields, §D statements`) and a quoted heading (`"Checksums"`); a list of sections ends
 * at `)`, `;`, a line end or another reference, so an RFC's section later on the line is not taken.
 */
export function citationsIn(text: string, file = '<text>'): Citation[] {
  const out: Citation[] = [];
  const lines = text.split('\n');
  lines.forEach((lineText, i) => {
    for (const m of lineText.matchAll(CITE)) {
      const rest = lineText.slice(m.index + m[0].length);
      const tail = rest.split(/[);]|docs\/|RFC |\bissue|`/)[0] ?? '';
      const sections: string[] = [];
      let heading: string | undefined;
      // Sections joined by commas or "and", each optionally followed by a few lower-case words.
      const list = new RegExp(String.raw`^(?:\s*(?:,|and)?\s*${SECTION}(?:\s+[a-z][a-z ]*?(?=,|$))?)*`);
      const head = list.exec(tail)?.[0] ?? '';
      for (const s of head.matchAll(new RegExp(SECTION, 'g'))) sections.push(s[1]!);
      const quoted = /^\s*(?:'s\s+)?"([^"]+)"/.exec(tail.slice(head.length));
      if (quoted) heading = quoted[1];
      out.push({ file, line: i + 1, target: m[1]!, sections, ...(heading ? { heading } : {}) });
    }
  });
  return out;
}

/** Heading texts of a markdown file, code blocks excluded. */
export function headingsOf(markdown: string): string[] {
  const out: string[] = [];
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (/^\s*```/.test(line)) fenced = !fenced;
    else if (!fenced) {
      const h = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
      if (h) out.push(h[1]!);
    }
  }
  return out;
}

/** Why a citation does not resolve, or undefined when it does. */
export function unresolved(c: Citation, readDoc: (target: string) => string | undefined): string | undefined {
  const text = readDoc(c.target);
  if (text === undefined) return `docs/${c.target} does not exist`;
  const headings = headingsOf(text);
  for (const s of c.sections) {
    if (!headings.some((h) => h === `§${s}` || h.startsWith(`§${s} `))) return `docs/${c.target} has no heading §${s}`;
  }
  if (c.heading && !headings.some((h) => h.toLowerCase().includes(c.heading!.toLowerCase()))) {
    return `docs/${c.target} has no heading containing "${c.heading}"`;
  }
  return undefined;
}

const readDoc = (target: string): string | undefined => {
  const p = path.join(root, 'docs', target);
  return fs.existsSync(p) ? fs.readFileSync(p, 'utf8') : undefined;
};

/**
 * References to the design and research outside the checkout. `(?<!docs/)` keeps the in-repo
 * `docs/research/…` forms legal; the suite's default location is allowed where it is defined and
 * where it is documented.
 */
const STALE: Array<{ re: RegExp; what: string }> = [
  // ../shared/hasura-suite is the Hasura suite's configurable default location (docs/hasura-suite.md),
  // data rather than a reference to read; anything else there is.
  { re: /\.\.\/shared\/(?!hasura-suite\b)/, what: 'a path outside the repository (../shared/)' },
  { re: /(?<![\w/])shared\/(?:DESIGN\.md|STYLE\.md|research\/)/, what: 'the shared design/research folder' },
  { re: /(?<![\w/.-])(?:DESIGN|STYLE)\.md/, what: 'DESIGN.md/STYLE.md (now docs/architecture.md, docs/style.md)' },
  { re: /(?<![\w/-])research(?:\/[\w.-]+)? §/, what: 'a research section without its docs/research/<page>.md' },
  { re: /(?<![\w/.-])(?:peers|storage-postgres-redis|hasura-v2|traefik-v3)\.md/, what: 'a research file outside docs/research/' },
  { re: /(?<![\w/.-])suite README/, what: "the external suite's README (now docs/hasura-suite.md)" },
];
/** This file names the forms it refuses and cites fixtures. */
const SELF = 'scripts/test/docs-links.test.ts';
/**
 * Applied migrations are immutable (the runner refuses an applied file whose text changed:
 * migrations/src/runner.ts checksums), so their comments keep citing `DESIGN.md`;
 * docs/README.md, which may name it for that reason, says that is now docs/architecture.md.
 */
const FROZEN = /^migrations\/default\/[^/]+\/(?:up|down)\.sql$|^docs\/README\.md$/;
const FROZEN_OK = /(?<![\w/.-])DESIGN\.md/;

export function staleIn(text: string, file: string): string[] {
  const out: string[] = [];
  text.split('\n').forEach((line, i) => {
    if (file === SELF) return;
    if (FROZEN.test(file) && FROZEN_OK.test(line) && !/\.\.\/shared\//.test(line)) return;
    for (const { re, what } of STALE) if (re.test(line)) out.push(`${file}:${i + 1}: ${what}: ${line.trim().slice(0, 140)}`);
  });
  return out;
}

void test('the checker parses section lists and quoted headings, and reports what does not resolve', () => {
  const cs = citationsIn(
    [
      '// Live queries (docs/research/hasura-v2.md §C.4, §C.5): polled; RFC 9110 §14 is not ours.',
      '// (docs/research/hasura-v2.md §A.4 root fields, §D statements)',
      '// R2 answers 501 (docs/research/storage.md §3 "Checksums"); see docs/architecture.md "Observability".',
      "// docs/architecture.md's grants table",
    ].join('\n'),
  );
  assert.deepEqual(
    cs.map((c) => [c.target, c.sections, c.heading ?? null]),
    [
      ['research/hasura-v2.md', ['C.4', 'C.5'], null],
      ['research/hasura-v2.md', ['A.4', 'D'], null],
      ['research/storage.md', ['3'], 'Checksums'],
      ['architecture.md', [], 'Observability'],
      ['architecture.md', [], null],
    ],
  );
  const docs: Record<string, string> = { 'a.md': '# A\n## §1 One\n```\n## §2 in a code block\n```\n### Checksums\n' };
  const read = (t: string) => docs[t];
  const cite = (target: string, sections: string[], heading?: string): Citation => ({ file: 'x', line: 1, target, sections, ...(heading ? { heading } : {}) });
  assert.equal(unresolved(cite('a.md', ['1'], 'checksums'), read), undefined);
  assert.equal(unresolved(cite('a.md', ['1.1']), read), 'docs/a.md has no heading §1.1');
  assert.equal(unresolved(cite('a.md', ['2']), read), 'docs/a.md has no heading §2');
  assert.equal(unresolved(cite('a.md', [], 'Bug'), read), 'docs/a.md has no heading containing "Bug"');
  assert.equal(unresolved(cite('b.md', []), read), 'docs/b.md does not exist');
  assert.equal(staleIn('see ../shared/DESIGN.md and research §C.5', 'x.ts').length, 2);
  assert.equal(staleIn('(DESIGN.md "Data"), STYLE.md §7, peers.md §3.2, suite README', 'x.ts').length, 3);
  assert.deepEqual(staleIn('docs/research/hasura-v2.md §C.5, docs/style.md §7, docs/research/peers.md §3.2', 'x.ts'), []);
  assert.deepEqual(staleIn('LINKPORT_HASURA_SUITE, default ../shared/hasura-suite', 'x.ts'), []);
  assert.deepEqual(staleIn('-- one role per service (DESIGN.md "Data").', 'migrations/default/1_a/up.sql'), []);
  assert.equal(staleIn('-- see research §3', 'migrations/default/1_a/up.sql').length, 1);
  // Upstream doc paths are not ours to resolve.
  assert.deepEqual(citationsIn("fastify `docs/Guides/Testing.md`, Hasura docs/docs/auth/jwt.mdx, media-service/docs/x.md"), []);
});

void test('every docs/… citation in the repository resolves to a file and a heading', () => {
  const failures: string[] = [];
  let count = 0;
  for (const file of repoFiles().filter((f) => f !== SELF)) {
    for (const c of citationsIn(fs.readFileSync(path.join(root, file), 'utf8'), file)) {
      count++;
      const why = unresolved(c, readDoc);
      if (why) failures.push(`${c.file}:${c.line}: ${why}`);
    }
  }
  assert.ok(count > 0, 'no docs/ citation found: the scan itself is broken');
  assert.deepEqual(failures, [], `unresolved citations:\n${failures.join('\n')}`);
});

void test('nothing cites the design or research outside the repository', () => {
  const failures = repoFiles().flatMap((file) => staleIn(fs.readFileSync(path.join(root, file), 'utf8'), file));
  assert.deepEqual(failures, [], `references that a clone alone cannot follow:\n${failures.join('\n')}`);
});
