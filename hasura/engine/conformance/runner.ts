/**
 * The conformance runner (docs/hasura-suite.md "How a directory runs"; docs/research/hasura-v2.md §E.5): per manifest class,
 * its fixtures in upstream's order (setup/teardown per class or per test, mutation schema/values
 * files, the v2 metadata-API style), every case over each transport of the class, header-less
 * cases twice (without and with `X-Hasura-Role: admin`), teardown always.
 */
import fs from 'node:fs';
import path from 'node:path';
import { compareBody, headersSubset, type Difference } from './compare.ts';
import { asSubscription, httpRequest, wsRequest, type Reply } from './client.ts';
import { pythonPorts, startEventsWebhook, usesEventsWebhook, type EventsWebhook } from './events.ts';
import { fixtureStyle, hasValuesFixture, loadManifest, readCases, readYaml, runsOnPostgres, shortDir, type Case, type ManifestClass } from './suite.ts';

export interface RunOptions {
  url: string;
  suiteDir: string;
  dirs?: string[];
  adminSecret?: string;
  transports?: string[];
  /** Extensions the database lacks (postgis → those classes are skipped). */
  missingExtensions?: string[];
  /** Applied to `run_sql` text of fixture files only (environment gaps, reported by the caller). */
  sqlRewrites?: Array<[RegExp, string]>;
  /**
   * Compare expected messages verbatim. By default the 2022-era wordings current Hasura no longer
   * gives are rewritten to today's (`currentWording`, each rule citing the change) — the issue's
   * rule: where old YAML and current Hasura disagree, follow current Hasura, explicitly.
   */
  rawMessages?: boolean;
  /**
   * The URL of an engine started with extra environment, for classes upstream runs under
   * `hge_env(NAME, VALUE)` marks (e.g. HASURA_GRAPHQL_INFER_FUNCTION_PERMISSIONS=false,
   * graphql_query/functions/permissions). Without it such classes are skipped, saying which env.
   */
  engineFor?: (env: Record<string, string>) => Promise<string>;
  log?: (line: string) => void;
}

/** A class's `hge_env('NAME', 'VALUE')` marks (upstream conftest.py runs HGE with that env). */
export function classEnv(c: ManifestClass): Record<string, string> {
  const env: Record<string, string> = {};
  for (const m of c.marks) {
    const hit = /^hge_env\(\s*'([^']+)'\s*,\s*'([^']*)'\s*\)$/.exec(m);
    if (hit) env[hit[1]!] = hit[2]!;
    // TestEventFloodPostgresMSSQL writes the value as `str(100)`.
    const num = /^hge_env\(\s*'([^']+)'\s*,\s*str\((\d+)\)\s*\)$/.exec(m);
    if (num) env[num[1]!] = num[2]!;
  }
  return env;
}

export interface CaseResult {
  dir: string;
  name: string;
  transport: string;
  outcome: 'pass' | 'fail' | 'skip';
  reason?: string;
  difference?: Difference;
  errorTextOnly?: boolean;
}

export interface Report {
  results: CaseResult[];
  passed: number;
  failed: number;
  skipped: number;
}

const graphqlUrls = new Set(['/v1/graphql', '/v1alpha1/graphql']);

class SetupError extends Error {}

/**
 * Tests upstream runs only in its JWT/webhook harness modes, sent without the admin secret
 * (test_graphql_mutations.py); this runner has no such mode, so they are skipped. The manifest
 * does not carry that condition.
 */
const withoutAdminSecret = new Set(['test_backend_user_no_admin_secret_fail']);

function rewriteSql(body: unknown, rewrites: Array<[RegExp, string]>): unknown {
  if (rewrites.length === 0 || !body || typeof body !== 'object') return body;
  if (Array.isArray(body)) return body.map((b) => rewriteSql(b, rewrites));
  const o = body as Record<string, unknown>;
  if (/run_sql$/.test(String(o.type)) && o.args && typeof (o.args as { sql?: unknown }).sql === 'string') {
    let sql = (o.args as { sql: string }).sql;
    for (const [re, to] of rewrites) sql = sql.replace(re, to);
    return { ...o, args: { ...(o.args as object), sql } };
  }
  if (o.type === 'bulk' && Array.isArray(o.args)) return { ...o, args: rewriteSql(o.args, rewrites) };
  return body;
}

export async function runConformance(opts: RunOptions): Promise<Report> {
  const log = opts.log ?? ((l: string) => console.log(l));
  const results: CaseResult[] = [];
  const record = (r: CaseResult) => {
    results.push(r);
    const tag = r.outcome === 'pass' ? 'PASS' : r.outcome === 'fail' ? 'FAIL' : 'SKIP';
    const reason = r.reason && r.outcome !== 'pass' ? ` — ${r.reason.length > 240 ? `${r.reason.slice(0, 240)}…` : r.reason}` : '';
    log(`${tag} ${r.dir}/${r.name} (${r.transport})${reason}`);
  };
  const adminHeaders: Record<string, string> = opts.adminSecret ? { 'x-hasura-admin-secret': opts.adminSecret } : {};
  const queriesDir = path.join(opts.suiteDir, 'queries');

  const post = async (endpoint: string, file: string, url = opts.url) => {
    if (!fs.existsSync(file)) return;
    const reply = await httpRequest(url, endpoint, { headers: adminHeaders, body: rewriteSql(readYaml(file), opts.sqlRewrites ?? []) });
    if (reply.status !== 200) {
      throw new SetupError(`${path.relative(queriesDir, file)} → ${endpoint} answered ${reply.status}: ${JSON.stringify(reply.body).slice(0, 400)}`);
    }
  };

  await post('/v2/query', path.join(queriesDir, 'clear_db.yaml'));

  const wanted = (c: ManifestClass) => {
    const d = shortDir(c.dir);
    return !opts.dirs?.length || opts.dirs.some((x) => d === x.replace(/\/$/, '') || d.startsWith(x.endsWith('/') ? x : `${x}/`));
  };
  const classes = loadManifest(opts.suiteDir).filter((c) => runsOnPostgres(c) && wanted(c));
  // Event-trigger classes get a real webhook server and an engine started with its URL (events.ts).
  const webhook: EventsWebhook | undefined = opts.engineFor && classes.some(usesEventsWebhook) ? await startEventsWebhook() : undefined;
  let webhookClass: ManifestClass | undefined;

  for (const cls of classes) {
    const dir = shortDir(cls.dir);
    const abs = path.join(opts.suiteDir, cls.dir);
    const f = (name: string) => path.join(abs, name);
    const style = fixtureStyle(cls);
    // Upstream marks some classes `postgis`; others share a schema file using geography columns
    // without the mark (their CI always has PostGIS), so the setup text is checked too.
    const setupText = ['setup.yaml', 'schema_setup.yaml'].map((n) => (fs.existsSync(f(n)) ? fs.readFileSync(f(n), 'utf8') : '')).join('\n');
    const needsPostgis = cls.fixtures.includes('postgis') || /\b(geography|geometry|postgis)\b/i.test(setupText);
    const skipAll = needsPostgis && opts.missingExtensions?.includes('postgis') ? 'needs PostGIS' : undefined;

    const caseList = (t: ManifestClass['tests'][number]) => t.yamls.flatMap((y) => readCases(f(y)).map((c, i, all) => ({ c, name: all.length > 1 ? `${y}#${i}` : y })));
    const transportsOf = (t: ManifestClass['tests'][number]) =>
      (t.transport ?? cls.transport ?? ['http']).filter((x) => !opts.transports || opts.transports.includes(x));

    // Classes upstream runs on an engine started with extra env go to such an engine.
    const env = { ...classEnv(cls), ...(webhook && usesEventsWebhook(cls) ? { EVENT_WEBHOOK_HANDLER: webhook.url } : {}) };
    const needsEnv = Object.keys(env).length > 0;
    const envSkip = needsEnv && !opts.engineFor ? `needs the engine started with ${Object.entries(env).map(([k, v]) => `${k}=${v}`).join(' ')}` : undefined;
    const url = needsEnv && opts.engineFor ? await opts.engineFor(env) : opts.url;
    const clsOpts = { ...opts, url };
    const skipClass = skipAll ?? envSkip;

    if (skipClass) {
      for (const t of cls.tests) for (const { name } of caseList(t)) for (const tr of transportsOf(t)) record({ dir, name, transport: tr, outcome: 'skip', reason: skipClass });
      continue;
    }

    const classSetup = async () => {
      if (style === 'class') await post('/v1/query', f('setup.yaml'), url);
      if (style === 'mutation') await post('/v1/query', f('schema_setup.yaml'), url);
      if (style === 'v2') {
        await post('/v1/metadata', f('pre_setup.yaml'), url);
        await post('/v2/query', f('schema_setup.yaml'), url);
        await post('/v1/metadata', f('setup.yaml'), url);
      }
    };
    const classTeardown = async () => {
      if (style === 'class') await post('/v1/query', f('teardown.yaml'), url);
      if (style === 'mutation') await post('/v1/query', f('schema_teardown.yaml'), url);
      if (style === 'v2') {
        await post('/v1/metadata', f('teardown.yaml'), url);
        await post('/v2/query', f('schema_teardown.yaml'), url);
        await post('/v1/metadata', f('post_teardown.yaml'), url);
      }
    };
    // Classes that list their fixture files (TestDeleteEventQuery: `setup_files`, `teardown_files`,
    // paths from the queries root) run those instead of the directory's setup.yaml / teardown.yaml.
    const listed = (key: 'setup_files' | 'teardown_files') => {
      const v = cls.attrs[key];
      return Array.isArray(v) ? v.map((x) => path.join(opts.suiteDir, String(x))) : undefined;
    };
    const setupFiles = listed('setup_files') ?? [f('setup.yaml')];
    const teardownFiles = listed('teardown_files') ?? [f('teardown.yaml')];
    const testSetup = async () => {
      if (style === 'method') for (const file of setupFiles) await post('/v1/query', file, url);
      if (style === 'mutation' || (style === 'v2' && hasValuesFixture(cls))) await post('/v1/query', f('values_setup.yaml'), url);
    };
    const testTeardown = async () => {
      if (style === 'method') for (const file of teardownFiles) await post('/v1/query', file, url);
      if (style === 'mutation' || (style === 'v2' && hasValuesFixture(cls))) await post('/v1/query', f('values_teardown.yaml'), url);
    };

    let classError: string | undefined;
    try {
      await classSetup();
    } catch (err) {
      classError = `class setup failed: ${(err as Error).message}`;
    }
    try {
      for (const t of cls.tests) {
        const port = pythonPorts[`${cls.class}.${t.name}`];
        if (port && t.kind !== 'check_query_f' && !classError && webhook) {
          // A Python test body ported to TypeScript (events.ts), between the test's setup and teardown;
          // the webhook's queue starts empty for each class (upstream's class-scoped fixture).
          if (webhookClass !== cls) webhook.clear();
          webhookClass = cls;
          const name = `${t.name} (ported)`;
          try {
            await testSetup();
            await port({
              request: async (endpoint, body, headers = {}) => {
                const r = await httpRequest(url, endpoint, { headers: { ...headers, ...adminHeaders }, body });
                return { status: r.status, body: r.body };
              },
              yamlQuery: (file) => readYaml(f(file)),
              checkQuery: async (file) => {
                for (const c of readCases(f(file))) {
                  const r = await runCase(clsOpts, c, 'http', false, adminHeaders);
                  if (r.outcome !== 'pass') throw new Error(`${file}: ${r.reason ?? r.outcome}`);
                }
              },
              webhook,
            });
            record({ dir, name, transport: 'http', outcome: 'pass' });
          } catch (err) {
            record({ dir, name, transport: 'http', outcome: 'fail', reason: (err as Error).message });
          } finally {
            await testTeardown().catch((err: unknown) => log(`WARN ${dir}: test teardown failed: ${(err as Error).message}`));
          }
          continue;
        }
        const cases = caseList(t);
        const noSecret = withoutAdminSecret.has(t.name);
        const skip =
          t.kind !== 'check_query_f'
            ? 'python-only test'
            : t.marks.some((m) => m.startsWith('xfail'))
              ? 'xfail upstream'
              : noSecret
                ? 'needs the JWT/webhook harness mode'
                : undefined;
        const variants = cases.some(({ c }) => !c.headers || Object.keys(c.headers).length === 0) ? ['', 'admin'] : [''];
        for (const transport of transportsOf(t)) {
          for (const variant of variants) {
            const label = variant ? `${transport}, +admin role` : transport;
            if (skip || classError) {
              for (const { name } of cases) record({ dir, name, transport: label, outcome: skip ? 'skip' : 'fail', reason: skip ?? classError });
              continue;
            }
            let testError: string | undefined;
            try {
              await testSetup();
            } catch (err) {
              testError = `test setup failed: ${(err as Error).message}`;
            }
            try {
              for (const { c, name } of cases) {
                if (testError) {
                  record({ dir, name, transport: label, outcome: 'fail', reason: testError });
                  continue;
                }
                record({ dir, name, transport: label, ...(await runCase(clsOpts, c, transport, variant === 'admin', adminHeaders)) });
              }
            } finally {
              await testTeardown().catch((err: unknown) => log(`WARN ${dir}: test teardown failed: ${(err as Error).message}`));
            }
          }
        }
      }
    } finally {
      await classTeardown().catch((err: unknown) => log(`WARN ${dir}: class teardown failed: ${(err as Error).message}`));
    }
  }
  await webhook?.close();
  return {
    results,
    passed: results.filter((r) => r.outcome === 'pass').length,
    failed: results.filter((r) => r.outcome === 'fail').length,
    skipped: results.filter((r) => r.outcome === 'skip').length,
  };
}

async function runCase(
  opts: RunOptions,
  c: Case,
  transport: string,
  adminRole: boolean,
  adminHeaders: Record<string, string>,
): Promise<Omit<CaseResult, 'dir' | 'name' | 'transport'>> {
  const headers: Record<string, string> = {};
  const own = Object.entries(c.headers ?? {});
  for (const [k, v] of own) headers[k] = typeof v === 'string' ? v : JSON.stringify(v);
  // validate.py `check_query`: only a case with no headers of its own may run as `X-Hasura-Role: admin`
  // (a case that names a role keeps it; graphql_query/permissions/user_cannot_access_remarks_col.yaml).
  if (adminRole && own.length === 0) headers['X-Hasura-Role'] = 'admin';
  Object.assign(headers, adminHeaders);
  const isGraphQL = graphqlUrls.has(c.url);
  const queryText = isGraphQL && c.query && typeof c.query === 'object' && !Array.isArray(c.query) ? (c.query as { query?: unknown }).query : undefined;
  // Batches, non-GraphQL urls and non-200 expectations go over HTTP whatever the transport.
  const overWs = (transport === 'websocket' || transport === 'subscription') && c.url === '/v1/graphql' && typeof queryText === 'string' && c.status === 200;
  const subscriptionText = overWs && transport === 'subscription' ? asSubscription(queryText as string) : undefined;
  if (transport === 'subscription' && !subscriptionText) return { outcome: 'skip', reason: 'not a single query: no subscription form' };
  // validate.py `test_forbidden_when_admin_secret_reqd`: with a secret configured, the request
  // without it and with a random one must be refused (200 errors on /v1/graphql, else 401/404).
  if (opts.adminSecret && !overWs && !adminRole) {
    const allowed = c.url === '/v1/graphql' ? (c.status === 404 ? [404] : [200]) : [401, 404];
    const bare = { ...headers };
    delete bare['x-hasura-admin-secret'];
    for (const secret of [undefined, `random-${Math.random().toString(36).slice(2)}`]) {
      const h = secret ? { ...bare, 'x-hasura-admin-secret': secret } : bare;
      try {
        const r = await httpRequest(opts.url, c.url, { method: c.method ?? 'POST', headers: h, body: c.method && c.body !== undefined ? c.body : c.query });
        if (!allowed.includes(r.status)) return { outcome: 'fail', reason: `${secret ? 'a wrong' : 'no'} admin secret answered ${r.status}, expected ${allowed.join('/')}` };
      } catch (err) {
        return { outcome: 'fail', reason: `request failed: ${(err as Error).message}` };
      }
    }
  }
  let reply: Reply;
  try {
    reply = subscriptionText
      ? await wsRequest(opts.url, c.url, headers, { ...(c.query as object), query: subscriptionText }, { subscription: true })
      : overWs
        ? await wsRequest(opts.url, c.url, headers, c.query)
        : await httpRequest(opts.url, c.url, { method: c.method ?? 'POST', headers, body: c.method && c.body !== undefined ? c.body : c.query });
  } catch (err) {
    return { outcome: 'fail', reason: `request failed: ${(err as Error).message}` };
  }
  if (!overWs && reply.status !== c.status) {
    return {
      outcome: 'fail',
      reason: `status ${reply.status}, expected ${c.status}`,
      difference: { path: 'status', expected: c.status, actual: reply.body, reason: 'status' },
    };
  }
  const q = typeof queryText === 'string' ? queryText : undefined;
  const alternatives = c.allowed_responses ?? (c.response !== undefined || c.resp_headers ? [{ response: c.response, resp_headers: c.resp_headers }] : []);
  if (alternatives.length === 0) return { outcome: 'pass' };
  let first: { difference: Difference; errorTextOnly: boolean } | undefined;
  for (const alt of alternatives) {
    const h = overWs ? undefined : headersSubset(alt.resp_headers, reply.headers);
    const expected = opts.rawMessages ? alt.response : currentWording(alt.response);
    const body = expected === undefined ? { errorTextOnly: false } : compareBody(expected, reply.body, q);
    const difference = h ?? body.difference;
    if (!difference) return { outcome: 'pass' };
    first ??= { difference, errorTextOnly: !h && body.errorTextOnly };
  }
  return {
    outcome: 'fail',
    reason: first!.errorTextOnly ? 'error text differs' : `differs at ${first!.difference.path} (${first!.difference.reason})`,
    difference: first!.difference,
    errorTextOnly: first!.errorTextOnly,
  };
}

/**
 * The expected-message rewrites from 2022-era YAML to what current Hasura answers. Each is a
 * wording change upstream made in its own test data since (the current YAML, e.g. upstream
 * `queries/graphql_query/basic/select_query_batching_with_one_error.yaml`, has the new form):
 * - Hasura ≥ 2.10 quotes GraphQL names with single quotes: `field "x" not found in type: …` →
 *   `field 'x' not found…`, `… for type "t"` → `… for type 't'` (docs/research/hasura-v2.md §B.3).
 *   Only the GraphQL parser's texts changed: metadata texts still double-quote their names
 *   (`computed field "x"`: upstream `Data.Text.Extended` `<<>`/`<>>` are `dquote`), so the rule
 *   is anchored on the parser's message, not on any `field "…"`.
 * Only `message`/`error` strings and inconsistency `reason`s (`internal[].reason`, which repeat
 * the `error` text) are touched; data is compared as written.
 */
export const messageRewrites: ReadonlyArray<readonly [RegExp, string]> = [
  [/field "(\w+)" not found in type/g, "field '$1' not found in type"],
  [/for type "([^"]+)"/g, "for type '$1'"],
];

export function currentWording(v: unknown, inMessage = false): unknown {
  if (typeof v === 'string') return inMessage ? messageRewrites.reduce((s, [re, to]) => s.replace(re, to), v) : v;
  if (Array.isArray(v)) return v.map((x) => currentWording(x, inMessage));
  if (v && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, k === 'data' ? x : currentWording(x, inMessage || k === 'message' || k === 'error' || k === 'reason')]));
  }
  return v;
}
