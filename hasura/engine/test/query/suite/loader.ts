/**
 * A tiny stand-in for the conformance runner (engine B owns the real one): reads a
 * graphql_query directory of the Hasura suite (docs/hasura-suite.md), applies its setup.yaml to a fresh database
 * through a bridge (run_sql → pg, track_table/relationships/permissions → a Metadata object,
 * RQL insert → SQL), then runs the manifest's cases against createEngine directly.
 */
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import YAML from 'yaml';
import { Kind, parse, type DocumentNode, type SelectionSetNode } from 'graphql';
import type { Metadata, Session, TableMetadata } from '../../../src/contract.ts';
import { createEngine } from '../../../src/engine.ts';
import { createTestDatabase } from '@linkport/devstack/testing';

export { defaultSuiteDir as SUITE } from '../../../conformance/suite.ts';
import { defaultSuiteDir as SUITE } from '../../../conformance/suite.ts';

type Op = { type: string; args: Record<string, unknown>; version?: number };

function splitSql(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  let i = 0;
  while (i < s.length) {
    const ch = s[i]!;
    if (ch === "'") { const j = s.indexOf("'", i + 1); cur += s.slice(i, j + 1); i = j + 1; continue; }
    if (ch === '-' && s[i + 1] === '-') { const j = s.indexOf('\n', i); i = j < 0 ? s.length : j; continue; }
    if (ch === '$') {
      const m = /^\$[A-Za-z_]*\$/.exec(s.slice(i));
      if (m) { const j = s.indexOf(m[0], i + m[0].length); cur += s.slice(i, j + m[0].length); i = j + m[0].length; continue; }
    }
    if (ch === ';') { if (cur.trim()) out.push(cur); cur = ''; i++; continue; }
    cur += ch; i++;
  }
  if (cur.trim()) out.push(cur);
  return out;
}

const ref = (t: unknown): { schema: string; name: string } =>
  typeof t === 'string' ? { schema: 'public', name: t } : { schema: 'public', ...(t as { schema?: string; name: string }) };

export class Bridge {
  md: Metadata = { version: 3, sources: [{ name: 'default', kind: 'postgres', configuration: {}, tables: [] }] };
  notes: string[] = [];
  constructor(private readonly client: pg.Client) {}

  private table(t: unknown): TableMetadata {
    const r = ref(t);
    const found = this.md.sources[0]!.tables.find((x) => x.table.schema === r.schema && x.table.name === r.name);
    if (!found) throw new Error(`untracked ${r.schema}.${r.name}`);
    return found;
  }

  async apply(op: Op): Promise<void> {
    const a = op.args;
    switch (op.type.replace(/^pg_/, '')) {
      case 'bulk': for (const o of a as unknown as Op[]) await this.apply(o); return;
      case 'run_sql': {
        const text = String(a.sql);
        try { await this.client.query(text); } catch {
          for (const stmt of splitSql(text)) {
            try { await this.client.query(stmt); } catch (e) { this.notes.push(`sql failed: ${(e as Error).message}`); }
          }
        }
        return;
      }
      case 'track_table': {
        const table = op.version === 2 || a.table ? ref(a.table) : ref(a);
        const tm: TableMetadata = { table };
        if (a.configuration) tm.configuration = a.configuration as TableMetadata['configuration'];
        this.md.sources[0]!.tables.push(tm);
        return;
      }
      case 'set_table_customization': this.table(a.table).configuration = a.configuration as TableMetadata['configuration']; return;
      case 'create_object_relationship': case 'create_array_relationship': {
        const tm = this.table(a.table);
        const key = op.type.includes('object') ? 'object_relationships' : 'array_relationships';
        (tm[key] ??= []).push({ name: String(a.name), using: a.using as Record<string, unknown> });
        return;
      }
      case 'create_select_permission': {
        const tm = this.table(a.table);
        (tm.select_permissions ??= []).push({ role: String(a.role), permission: a.permission as Record<string, unknown> });
        return;
      }
      case 'insert': {
        const r = ref(a.table);
        const objects = a.objects as Array<Record<string, unknown>>;
        if (!objects.length) return;
        const cols = [...new Set(objects.flatMap((o) => Object.keys(o)))];
        const q = (s: string) => '"' + s.replace(/"/g, '""') + '"';
        const list = cols.map(q).join(', ');
        await this.client.query(
          `INSERT INTO ${q(r.schema)}.${q(r.name)} (${list}) SELECT ${list} FROM json_populate_recordset(null::${q(r.schema)}.${q(r.name)}, $1)`,
          [JSON.stringify(objects)],
        );
        return;
      }
      case 'track_function': {
        const fn = a.function ? ref(a.function) : ref(a);
        const src = this.md.sources[0]!;
        (src.functions ??= []).push({ function: fn, ...(a.configuration ? { configuration: a.configuration } : {}) });
        return;
      }
      case 'add_computed_field': {
        const tm = this.table(a.table);
        const list = ((tm.computed_fields as unknown[] | undefined) ?? []);
        list.push({ name: a.name, definition: a.definition });
        tm.computed_fields = list;
        return;
      }
      default: this.notes.push(`skipped ${op.type}`);
    }
  }
}

export interface CaseResult { file: string; index: number; ok: boolean; errorOnly?: boolean; detail?: string }

interface Case { url?: string; status?: number; headers?: Record<string, unknown>; query: unknown; response?: unknown; allowed_responses?: Array<{ response: unknown }> }

function session(headers: Record<string, unknown> | undefined): Session {
  const vars: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers ?? {})) if (/^x-hasura-/i.test(k)) vars[k.toLowerCase()] = String(v);
  const role = vars['x-hasura-role'] ?? 'admin';
  return { role, vars, isAdmin: true };
}

/** Hasura's validate.py: numbers by value, lists in order; object key order under `data` where checkable. */
function eq(a: unknown, b: unknown, ordered: boolean): boolean {
  if (typeof a === 'number' || typeof b === 'number') return Number(a) === Number(b) && typeof a === typeof b;
  if (Array.isArray(a) || Array.isArray(b)) return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => eq(x, b[i], ordered));
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    const ka = Object.keys(a); const kb = Object.keys(b);
    if (ka.length !== kb.length) return false;
    if (ordered && ka.some((k, i) => k !== kb[i])) return false;
    return ka.every((k) => k in (b as object) && eq((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], ordered));
  }
  return a === b;
}

const normalizeOld = (v: unknown): unknown => JSON.parse(JSON.stringify(v).replace(/field \\"(\w+)\\" not found/g, "field '$1' not found"));

export async function runDir(dir: string, classFilter?: (cls: string) => boolean): Promise<{ results: CaseResult[]; notes: string[] }> {
  const manifest = JSON.parse(fs.readFileSync(path.join(SUITE, 'manifest.json'), 'utf8')) as Array<{ class: string; dir: string; fixtures: string[]; tests: Array<{ yamls: string[] }> }>;
  const classes = manifest.filter((c) => c.dir === `queries/${dir}` && (!classFilter || classFilter(c.class)));
  const abs = path.join(SUITE, 'queries', dir);
  const db = await createTestDatabase();
  const client = new pg.Client({ connectionString: db.adminUrl });
  await client.connect();
  const bridge = new Bridge(client);
  const results: CaseResult[] = [];
  const pool = new pg.Pool({ connectionString: db.adminUrl, max: 4, options: '-c TimeZone=UTC' });
  pool.on('error', () => undefined); // idle clients of a dropped database
  try {
    await client.query('SET TIME ZONE \'UTC\'');
    await bridge.apply(YAML.parse(fs.readFileSync(path.join(abs, 'setup.yaml'), 'utf8')) as Op);
    const engine = await createEngine(pool, bridge.md, { stringifyNumericTypes: true });
    const seen = new Set<string>();
    for (const cls of classes) for (const t of cls.tests) for (const y of t.yamls) {
      if (seen.has(y)) continue;
      seen.add(y);
      const doc = YAML.parse(fs.readFileSync(path.join(abs, y), 'utf8')) as Case | Case[];
      const cases = Array.isArray(doc) ? doc : [doc];
      for (const [i, c] of cases.entries()) {
        if (c.url === '/v1/query' && c.query) {
          await bridge.apply(c.query as Op);
          await engine.reload(bridge.md);
          results.push({ file: y, index: i, ok: true });
          continue;
        }
        if (!c.query || (c.url && !/graphql$/.test(c.url))) { results.push({ file: y, index: i, ok: false, detail: `url ${c.url} not supported here` }); continue; }
        const reqs = Array.isArray(c.query) ? c.query : [c.query];
        const out: unknown[] = [];
        for (const r of reqs as Array<{ query: string; variables?: Record<string, unknown>; operationName?: string }>)
          out.push(await engine.execute(r, session(c.headers)));
        const actual = Array.isArray(c.query) ? out : out[0];
        const expected = (c.response ?? c.allowed_responses?.map((x) => x.response)) as unknown;
        const alts = c.response !== undefined ? [normalizeOld(c.response)] : (c.allowed_responses ?? []).map((x) => normalizeOld(x.response));
        const first = (reqs[0] as { query?: string }).query ?? '';
        const ok = alts.length === 0 ? true : alts.some((e) => eq(strip(actual), strip(e), false)
          && (Array.isArray(c.query) || orderedOk(dataOf(actual), dataOf(e), first)));
        const bothErr = !ok && JSON.stringify(actual).includes('"errors"') && String(JSON.stringify(expected)).includes('errors');
        results.push({ file: y, index: i, ok, errorOnly: bothErr, detail: ok ? undefined : `expected ${JSON.stringify(alts[0])}\n   actual ${JSON.stringify(actual)}` });
      }
    }
  } finally {
    await pool.end();
    await client.end();
    await db.drop();
  }
  return { results, notes: bridge.notes };
}

/** validate.py `collapse_order_not_selset`: key order matters only for objects the selection walks. */
function orderedOk(a: unknown, e: unknown, query: string): boolean {
  let doc: DocumentNode;
  try { doc = parse(query); } catch { return true; }
  const def = doc.definitions[0];
  if (!def || def.kind !== Kind.OPERATION_DEFINITION) return true;
  const walk = (x: unknown, y: unknown, set: SelectionSetNode | undefined): boolean => {
    if (Array.isArray(x) && Array.isArray(y)) return x.every((v, i) => walk(v, y[i], set));
    if (!set || !x || !y || typeof x !== 'object' || typeof y !== 'object') return true;
    const kx = Object.keys(x); const ky = Object.keys(y);
    if (kx.join() !== ky.join()) return false;
    for (const sel of set.selections) {
      if (sel.kind !== Kind.FIELD) return true;
      const k = sel.name.value;
      if (!(k in x)) return true;
      if (!walk((x as Record<string, unknown>)[k], (y as Record<string, unknown>)[k], sel.selectionSet)) return false;
    }
    return true;
  };
  return walk(a, e, def.selectionSet);
}

const dataOf = (v: unknown): unknown => strip(Array.isArray(v) ? v.map((x) => (x as { data?: unknown }).data) : (v as { data?: unknown }).data);

/** Undefined-valued keys and `extensions.internal` are not part of the comparison. */
function strip(v: unknown): unknown {
  if (v === undefined) return null;
  return JSON.parse(JSON.stringify(v, (k, x: unknown) => (k === "internal" ? undefined : x)));
}
