/**
 * The committed observability configuration (docker/observability): Prometheus config and alert
 * rules checked by `promtool check config/rules` and the rules' unit tests run by `promtool test
 * rules`, when promtool is installed (Debian's `prometheus` package); Grafana dashboards parse and
 * every query names a metric some Linkport process (or Traefik) exports.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const dir = path.resolve(import.meta.dirname, '../../../docker/observability');
const promtool = spawnSync('promtool', ['--version'], { encoding: 'utf8' }).status === 0;
const skip = promtool ? false : 'promtool not installed (apt-get install prometheus)';

function run(args: string[], cwd = dir): string {
  const r = spawnSync('promtool', args, { cwd, encoding: 'utf8' });
  assert.equal(r.status, 0, `promtool ${args.join(' ')}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout + r.stderr;
}

void test('promtool: Prometheus config and rules are valid', { skip }, () => {
  assert.match(run(['check', 'config', '--syntax-only', 'prometheus/prometheus.yml']), /SUCCESS/);
  assert.match(run(['check', 'rules', 'prometheus/rules/linkport.yml']), /SUCCESS: 9 rules found/);
});

void test('promtool: alert rule unit tests pass', { skip }, () => {
  assert.match(run(['test', 'rules', 'linkport.test.yml'], path.join(dir, 'prometheus/rules')), /SUCCESS/);
});

/** Metric families the code exports (prefix match), so a renamed metric breaks this test. */
const exported = [
  'up',
  'traefik_',
  'http_server_request_duration_seconds',
  'linkport_redirect_',
  'linkport_click_',
  'linkport_worker_',
  'linkport_graphql_',
  'linkport_core_logins_total',
  'pg_pool_',
  'redis_command_duration_seconds',
  'nodejs_eventloop_lag_p99_seconds',
  'process_',
];

void test('dashboards parse and query only exported metrics', () => {
  const files = fs.readdirSync(path.join(dir, 'grafana/dashboards')).filter((f) => f.endsWith('.json'));
  assert.deepEqual(files.sort(), ['graphql-engine.json', 'platform-overview.json', 'redirect-pipeline.json', 'saturation.json']);
  const sources = [path.join(dir, 'prometheus/rules/linkport.yml')];
  for (const f of files) {
    const d = JSON.parse(fs.readFileSync(path.join(dir, 'grafana/dashboards', f), 'utf8')) as { uid: string; panels: { targets: { expr: string }[] }[] };
    assert.ok(d.uid.startsWith('linkport-'));
    assert.ok(d.panels.length >= 4, f);
    for (const p of d.panels) for (const t of p.targets) sources.push(t.expr);
  }
  const text = sources.map((s) => (s.endsWith('.yml') ? fs.readFileSync(s, 'utf8') : s)).join('\n');
  const names = new Set(text.match(/\b(?:traefik|linkport|pg_pool|redis_command|http_server|nodejs|process)_[a-z0-9_]+/g) ?? []);
  assert.ok(names.size > 20);
  for (const n of names) assert.ok(exported.some((p) => n.startsWith(p)), `${n} is not a metric Linkport exports`);
});
