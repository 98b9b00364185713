/**
 * Where each /metrics is (the URL table's rows) and `npm start -- --prometheus`: Debian's prometheus
 * scraping the stack with docker/observability's rules, stopped with the stack.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { freePort } from '@linkport/devstack/testing';
import { resolveConfig } from '../src/config.ts';
import path from 'node:path';
import { metricsTargets, prometheusConfig, ruleFiles } from '../src/prometheus.ts';
import { urlRows } from '../src/table.ts';
import { alive, fakeService, launch, portEnv, readRun, root, tempDataDir } from './helper.ts';

const stores = {
  pg: { embedded: true, adminUrl: 'postgres://postgres:pw@127.0.0.1:54329/linkport', stop: async () => {} },
  redis: { embedded: true, url: 'redis://127.0.0.1:6390', stop: async () => {} },
  s3: { embedded: true, endpoint: 'http://127.0.0.1:4569', region: 'auto', accessKeyId: 'k', secretAccessKey: 's', bucket: 'b', publicBaseUrl: 'http://127.0.0.1:4569/b', stop: async () => {} },
};

void test('the URL table lists each service → its private /metrics (gateway: the probe port)', () => {
  const env = { CORE_PORT: '4101', MEDIA_PORT: '4102', HASURA_PORT: '4103', REDIRECT_PORT: '4104', WORKER_PORT: '4105', GATEWAY_PORT: '4180', GATEWAY_PROBE_PORT: '4182' };
  const cfg = resolveConfig({ env, dataDir: '/tmp/linkport-table' });
  const started = ['core', 'media', 'engine', 'redirect', 'worker', 'gateway'];
  const urlFor = (name: string) => `http://127.0.0.1:${cfg.selected.find((s) => s.def.name === name)!.port}`;
  const metrics = metricsTargets({ started, urlFor, probeUrlFor: () => 'http://127.0.0.1:4182', externalEngine: false });
  const rows = urlRows({ cfg, started, gatewayUrl: 'http://localhost:4180', urlFor, ...stores, metrics, prometheusUrl: 'http://127.0.0.1:9090' } as never);
  const metricRows = rows.filter(([label]) => label.endsWith(' metrics'));
  assert.deepEqual(metricRows, [
    ['core metrics', 'http://127.0.0.1:4101/metrics'],
    ['media metrics', 'http://127.0.0.1:4102/metrics'],
    ['engine metrics', 'http://127.0.0.1:4103/metrics'],
    ['redirect metrics', 'http://127.0.0.1:4104/metrics'],
    ['worker metrics', 'http://127.0.0.1:4105/metrics'],
    ['gateway metrics', 'http://127.0.0.1:4182/metrics'],
  ]);
  assert.ok(rows.some(([label, v]) => label === 'Prometheus' && v.startsWith('http://127.0.0.1:9090')));
  // An operator's Hasura (HASURA_URL) is not ours to scrape; a service not running has no row.
  const external = metricsTargets({ started: ['core', 'engine'], urlFor, probeUrlFor: () => undefined, externalEngine: true });
  assert.deepEqual(external.map((m) => m.service), ['core']);
  const withoutProm = urlRows({ cfg, started: ['core'], gatewayUrl: undefined, urlFor, ...stores, metrics: external } as never);
  assert.equal(withoutProm.filter(([l]) => l === 'Prometheus').length, 0);
});

void test('the generated prometheus.yml: the compose job names (rules match on them) and the shared rules', () => {
  const targets = metricsTargets({
    started: ['core', 'worker', 'gateway'],
    urlFor: (n) => `http://127.0.0.1:${n === 'core' ? 3001 : 3005}`,
    probeUrlFor: () => 'http://127.0.0.1:8082',
    externalEngine: false,
  });
  const rulesDir = path.join(root, 'docker/observability/prometheus/rules');
  const rules = ruleFiles(rulesDir);
  assert.ok(rules.includes(path.join(rulesDir, 'linkport.yml')));
  assert.ok(!rules.some((f) => f.endsWith('.test.yml')), 'promtool test files are not rule files');
  const text = prometheusConfig(targets, rules);
  const cfg = JSON.parse(text.slice(text.indexOf('\n') + 1)) as { rule_files: string[]; scrape_configs: Array<{ job_name: string; metrics_path: string; static_configs: Array<{ targets: string[] }> }> };
  assert.deepEqual(cfg.rule_files, rules);
  assert.deepEqual(
    cfg.scrape_configs.map((c) => [c.job_name, c.static_configs[0]!.targets[0], c.metrics_path]),
    [
      ['core', '127.0.0.1:3001', '/metrics'],
      ['click-worker', '127.0.0.1:3005', '/metrics'],
      ['gateway', '127.0.0.1:8082', '/metrics'],
    ],
  );
  const promtool = spawnSync('promtool', ['--version'], { stdio: 'ignore' });
  if (promtool.status === 0) {
    // The same check `promtool check config` runs before Prometheus would refuse to start.
    const r = spawnSync('sh', ['-c', 'f=$(mktemp --suffix=.yml) && cat > "$f" && promtool check config "$f"; s=$?; rm -f "$f"; exit $s'], { input: text });
    assert.equal(r.status, 0, r.stdout.toString() + r.stderr.toString());
  }
});

const hasPrometheus = spawnSync('prometheus', ['--version'], { stdio: 'ignore' }).status === 0;

void test(
  'npm start -- --prometheus: scrapes the stack with the compose rules, stops with it',
  { skip: hasPrometheus ? false : 'prometheus is not installed (Debian package `prometheus`); the launcher installs it as root, this test does not', timeout: 120_000 },
  async (t) => {
    const dataDir = tempDataDir(t);
    const ports = await portEnv();
    const promPort = String(await freePort());
    // A stand-in named like the redirect, so it is a metrics target (LINKPORT_SERVICES=none runs no real service).
    const env = { ...ports, PROMETHEUS_PORT: promPort, LINKPORT_DATA_DIR: dataDir, LINKPORT_SERVICES: 'none', LINKPORT_NO_INSTALL: '1', LINKPORT_EXTRA_SERVICES: JSON.stringify([fakeService('redirect', ports.REDIRECT_PORT!)]) };
    const run = launch(env, ['--prometheus']);
    t.after(() => run.proc.kill('SIGKILL'));
    await run.waitFor(/Ctrl-C stops everything/, 90_000);
    const out = run.output();
    assert.match(out, new RegExp(`│ redirect metrics +http://127\\.0\\.0\\.1:${ports.REDIRECT_PORT}/metrics`));
    assert.match(out, new RegExp(`│ Prometheus +http://127\\.0\\.0\\.1:${promPort}`));
    const pid = readRun(dataDir).pids.prometheus;
    assert.ok(pid && alive(pid), 'prometheus runs');

    const api = async <T>(p: string): Promise<T> => ((await (await fetch(`http://127.0.0.1:${promPort}${p}`)).json()) as { data: T }).data;
    // Service discovery hands the static targets over shortly after /-/ready.
    let targets = await api<{ activeTargets: Array<{ labels: Record<string, string>; scrapeUrl: string }> }>('/api/v1/targets');
    for (let i = 0; i < 50 && targets.activeTargets.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      targets = await api('/api/v1/targets');
    }
    assert.deepEqual(
      targets.activeTargets.map((x) => [x.labels.job, x.scrapeUrl]),
      [['redirect', `http://127.0.0.1:${ports.REDIRECT_PORT}/metrics`]],
    );
    const rules = await api<{ groups: Array<{ rules: Array<{ name: string }> }> }>('/api/v1/rules');
    const names = rules.groups.flatMap((g) => g.rules.map((r) => r.name));
    for (const alert of ['ServiceDown', 'HighErrorRatio', 'RedirectLatencyHigh']) assert.ok(names.includes(alert), `rule ${alert} loaded`);

    run.proc.kill('SIGTERM');
    const exit = await run.exit;
    assert.equal(exit.code, 0);
    assert.ok(!alive(pid), 'prometheus stopped with the stack');
  },
);
