/**
 * No Docker engine runs here, so the production path is checked statically (docs/architecture.md "Two ways
 * to run"): docker-compose.yml, the Dockerfiles, .env.example and the Traefik static files.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import YAML from 'yaml';
import { parseDynamicFiles } from '../src/config/load.ts';

const root = path.resolve(import.meta.dirname, '../..');
const read = (p: string) => fs.readFileSync(path.join(root, p), 'utf8');

interface Service {
  image?: string;
  build?: { context: string; dockerfile: string };
  command?: string[];
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
  environment?: Record<string, string>;
  volumes?: string[];
  restart?: string;
  ports?: string[];
  entrypoint?: string[];
  deploy?: { replicas?: number };
}
const composeText = read('docker-compose.yml');
const compose = YAML.parse(composeText, { merge: true }) as { services: Record<string, Service> };
const services = compose.services;
const oneShot = (s: Service) => s.restart === 'no';
const dockerfiles = ['core-service/Dockerfile', 'media-service/Dockerfile', 'redirect/Dockerfile', 'hasura/engine/Dockerfile', 'events/Dockerfile'];

/**
 * Images without a shell or an HTTP client, which cannot run a healthcheck: each is watched by
 * Prometheus instead (its own metrics scraped, so ServiceDown fires), and nothing may wait on it.
 */
const distroless: Record<string, string> = { 'otel-collector': 'otel-collector:8888' };

void test('every long-running service has a healthcheck; one-shot jobs are awaited to completion', () => {
  for (const [name, s] of Object.entries(services)) {
    if (oneShot(s)) {
      const awaited = Object.values(services).some((o) => o.depends_on?.[name]?.condition === 'service_completed_successfully');
      assert.ok(awaited, `${name}: one-shot job nobody waits for`);
      continue;
    }
    if (distroless[name]) {
      assert.equal(s.healthcheck, undefined, `${name}: a healthcheck its image cannot run would mark it unhealthy forever`);
      assert.ok(!Object.values(services).some((o) => o.depends_on?.[name]), `${name}: nothing can wait for it to be healthy`);
      assert.ok(scrapeTargets().includes(distroless[name]!), `${name}: Prometheus watches it instead`);
      continue;
    }
    assert.ok(s.healthcheck?.test?.length, `${name}: no healthcheck`);
  }
});

interface ScrapeConfig {
  job_name: string;
  static_configs?: Array<{ targets: string[] }>;
  dns_sd_configs?: Array<{ names: string[]; type: string; port: number }>;
}
const scrapeConfigs = () => (YAML.parse(read('docker/observability/prometheus/prometheus.yml')) as { scrape_configs: ScrapeConfig[] }).scrape_configs;

/** host:port of every scrape target; a DNS-discovered name stands for each address it resolves to. */
function scrapeTargets(): string[] {
  return scrapeConfigs().flatMap((c) => [...(c.static_configs ?? []).flatMap((sc) => sc.targets), ...(c.dns_sd_configs ?? []).flatMap((d) => d.names.map((n) => `${n}:${d.port}`))]);
}

void test('observability: Prometheus scrapes every Linkport service and Traefik on their private ports, with the committed rules', () => {
  const targets = scrapeTargets();
  for (const t of targets) {
    const [host, port] = t.split(':');
    if (host === 'localhost') continue;
    assert.ok(services[host!], `scrape target ${t} is not a compose service`);
    // The click worker's probes and metrics are on WORKER_PORT (redirect/src/worker.ts, 3005), not
    // the PORT it inherits from the redirect's environment.
    const env = services[host!]!.environment;
    const own = host === 'click-worker' ? (env?.WORKER_PORT ?? '3005') : env?.PORT;
    if (own) assert.equal(port, own, `${host} serves /metrics on its own port`);
  }
  for (const svc of ['traefik', 'core', 'media', 'redirect', 'click-worker']) assert.ok(targets.some((t) => t.startsWith(`${svc}:`)), `${svc} is scraped`);
  // traefik.yml's metrics entrypoint is where Traefik serves them
  const stat = YAML.parse(read('gateway/traefik.yml')) as { entryPoints: Record<string, { address: string }>; metrics: { prometheus: { entryPoint: string } } };
  assert.equal(targets.find((t) => t.startsWith('traefik:')), `traefik${stat.entryPoints[stat.metrics.prometheus.entryPoint]!.address}`);
  const prom = YAML.parse(read('docker/observability/prometheus/prometheus.yml')) as { rule_files: string[] };
  const mount = services.prometheus!.volumes!.find((v) => v.startsWith('./docker/observability/prometheus/rules:'))!;
  const [src, dest] = mount.split(':') as [string, string];
  for (const f of prom.rule_files) {
    assert.ok(f.startsWith(`${dest}/`) && !f.includes('*'), `${f}: a named file in the mounted rules folder`);
    assert.ok(fs.existsSync(path.join(root, src, f.slice(dest.length + 1))), `${f} exists`);
    assert.ok(!f.endsWith('.test.yml'), 'promtool test files are not rule files');
  }
  // Grafana's data sources point at the compose services.
  const ds = read('docker/observability/grafana/provisioning/datasources/datasources.yml');
  assert.match(ds, /http:\/\/prometheus:9090/);
  assert.match(ds, /http:\/\/tempo:3200/);
  assert.match(read('docker/observability/otel-collector/config.yml'), /endpoint: tempo:4317/);
});

void test('depends_on always waits on a condition, and only on healthy / completed services', () => {
  for (const [name, s] of Object.entries(services)) {
    for (const [dep, cond] of Object.entries(s.depends_on ?? {})) {
      assert.ok(services[dep], `${name} depends on unknown ${dep}`);
      const want = oneShot(services[dep]!) ? 'service_completed_successfully' : 'service_healthy';
      assert.equal(cond.condition, want, `${name} → ${dep}`);
    }
  }
  assert.equal(services['hasura-migrate']!.depends_on?.['db-init']?.condition, 'service_completed_successfully');
  assert.equal(services.hasura!.depends_on?.['hasura-migrate']?.condition, 'service_completed_successfully');
  for (const svc of ['core', 'media', 'hasura', 'redirect']) assert.equal(services.traefik!.depends_on?.[svc]?.condition, 'service_healthy');
});

void test('image tags are pinned', () => {
  const pins: Record<string, RegExp> = {
    traefik: /^traefik:v3\.\d+\.\d+$/,
    postgres: /^postgres:16\.\d+(-\w+)?$/,
    'db-init': /^postgres:16\.\d+(-\w+)?$/,
    redis: /^redis:7\.\d+\.\d+(-\w+)?$/,
    'postgres-replica': /^postgres:16\.\d+(-\w+)?$/,
    hasura: /^hasura\/graphql-engine:v2\.\d+\.\d+$/,
    'hasura-migrate': /^hasura\/graphql-engine:v2\.\d+\.\d+\.cli-migrations-v3$/,
    'redis-cluster-init': /^redis:7\.\d+\.\d+(-\w+)?$/,
    ...Object.fromEntries([1, 2, 3, 4, 5, 6].map((i) => [`redis-node-${i}`, /^redis:7\.\d+\.\d+(-\w+)?$/])),
    clickhouse: /^clickhouse\/clickhouse-server:\d+\.\d+(\.\d+\.\d+)?$/,
    minio: /^minio\/minio:RELEASE\.[\dT-]+Z$/,
    'minio-setup': /^minio\/mc:RELEASE\.[\dT-]+Z$/,
    prometheus: /^prom\/prometheus:v2\.\d+\.\d+$/,
    tempo: /^grafana\/tempo:2\.\d+\.\d+$/,
    'otel-collector': /^otel\/opentelemetry-collector-contrib:0\.\d+\.\d+$/,
    grafana: /^grafana\/grafana:11\.\d+\.\d+$/,
  };
  for (const [name, s] of Object.entries(services)) {
    assert.ok(s.image, `${name}: no image`);
    if (pins[name]) assert.match(s.image, pins[name], name);
    else assert.match(s.image, /^linkport\/[\w-]+:\$\{LINKPORT_VERSION:-[\w.-]+\}$/, `${name}: our images are tagged by LINKPORT_VERSION`);
    assert.doesNotMatch(s.image, /:latest$/);
  }
  assert.equal(services.traefik!.image, 'traefik:v3.7.9', 'the Node gateway mirrors Traefik v3.7 semantics (docs/research/traefik-v3.md §0)');
  // the migrations job and the replicas run the same Hasura release
  assert.equal(services['hasura-migrate']!.image, `${services.hasura!.image}.cli-migrations-v3`);
});

void test('every ${VAR} used by compose is documented in .env.example, and nothing more', () => {
  const used = new Set([...composeText.matchAll(/(?<!\$)\$\{([A-Z_][A-Z0-9_]*)/g)].map((m) => m[1]!));
  const envText = read('.env.example');
  const documented = new Map<string, boolean>();
  const lines = envText.split('\n');
  lines.forEach((line, i) => {
    const m = /^([A-Z_][A-Z0-9_]*)=/.exec(line);
    // a comment right above it, or above the group of variables it belongs to
    let j = i - 1;
    while (j >= 0 && /^[A-Z_][A-Z0-9_]*=/.test(lines[j]!)) j--;
    if (m) documented.set(m[1]!, (lines[j] ?? '').startsWith('#'));
  });
  for (const v of used) {
    assert.ok(documented.has(v), `${v} missing from .env.example`);
    assert.ok(documented.get(v), `${v} has no comment line above it`);
  }
  for (const v of documented.keys()) assert.ok(used.has(v), `${v} in .env.example but unused`);
  assert.doesNotMatch(composeText, /\$[A-Za-z_]/, 'bare $VAR (use ${VAR}); literal dollars must be $$');
});

void test('each service connects with its own database role', () => {
  const user = (s: string, key = 'DATABASE_URL') => new URL(services[s]!.environment![key]!.replace(/\$\{[^}]+\}/g, 'x')).username;
  assert.equal(user('core'), 'core_service');
  assert.equal(user('media'), 'media_service');
  assert.equal(user('redirect'), 'redirect_service');
  assert.equal(user('click-worker'), 'redirect_service');
  assert.equal(user('hasura', 'HASURA_GRAPHQL_DATABASE_URL'), 'links_admin');
  const init = read('docker/postgres/init-roles.sh');
  for (const role of ['core_service', 'media_service', 'redirect_service', 'links_admin']) {
    assert.match(init, new RegExp(`ALTER ROLE ${role} PASSWORD`));
    assert.match(read('migrations/default/1763700000000_roles_and_schemas/up.sql'), new RegExp(`'${role}'`), `${role} also in the migration`);
  }
  assert.match(init, /WHERE NOT EXISTS \(SELECT 1 FROM pg_roles/);
});

void test('Hasura: cli-migrations with migrations/ and metadata, JWT via JWKS, no console, no dev mode', () => {
  const h = services['hasura-migrate']!;
  const env = h.environment!;
  // one job applies the migrations and exits (the image's entrypoint ends in exec "$@"); the
  // replicas serve with the same environment and nothing to apply
  assert.deepEqual(h.command, ['true']);
  assert.equal(h.restart, 'no');
  assert.deepEqual(services.hasura!.environment, env);
  assert.equal(services.hasura!.volumes, undefined);
  assert.equal(env.HASURA_GRAPHQL_ENABLE_CONSOLE, 'false');
  assert.equal(env.HASURA_GRAPHQL_DEV_MODE, 'false');
  assert.equal(env.HASURA_GRAPHQL_UNAUTHORIZED_ROLE, 'anonymous');
  assert.match(env.HASURA_GRAPHQL_ADMIN_SECRET!, /^\$\{HASURA_GRAPHQL_ADMIN_SECRET:\?/);
  const jwt = JSON.parse(env.HASURA_GRAPHQL_JWT_SECRET!.replace(/\$\{([A-Z_]+):-([^}]*)\}/g, '$2')) as Record<string, string>;
  assert.equal(jwt.jwk_url, 'http://core:3001/v1/core/.well-known/jwks.json');
  assert.ok(h.volumes!.includes('./migrations/default:/hasura-migrations/default:ro'));
  assert.ok(h.volumes!.includes('./hasura/metadata:/hasura-metadata:ro'));
  assert.ok(services.redis!.command!.join(' ').includes('--appendonly yes'));
  assert.deepEqual(services['click-worker']!.command, ['node', '--import', 'tsx', 'src/worker.ts']);
  assert.equal(services['click-worker']!.image, services.redirect!.image);
});

void test('bind mounts exist; Traefik mounts the shared gateway config', () => {
  for (const [name, s] of Object.entries(services)) {
    for (const v of s.volumes ?? []) {
      const [src] = v.split(':');
      if (src!.startsWith('./')) assert.ok(fs.existsSync(path.join(root, src!)), `${name}: ${src} missing`);
    }
  }
  const t = services.traefik!.volumes!;
  assert.ok(t.includes('./gateway/traefik.yml:/etc/traefik/traefik.yml:ro'));
  assert.ok(t.includes('./gateway/dynamic:/etc/traefik/dynamic:ro'));
  // Only the gateway is public. Grafana publishes on the host's loopback alone (an operator
  // tunnels to it): dashboards reveal traffic and internals. Nothing else publishes anything.
  const publishing = Object.entries(services).filter(([, s]) => s.ports?.length).map(([n]) => n);
  assert.deepEqual(publishing, ['traefik', 'grafana']);
  for (const p of services.grafana!.ports!) assert.match(p, /^127\.0\.0\.1:/, 'Grafana on loopback only');
  for (const p of services.traefik!.ports!) assert.doesNotMatch(p, /^127\./);
});

void test('Traefik static files agree with the mounts, the dynamic files and each other', () => {
  const stat = YAML.parse(read('gateway/traefik.yml')) as Record<string, any>;
  const tracing = YAML.parse(read('gateway/traefik.tracing.yml')) as Record<string, any>;
  const { tracing: otlp, ...rest } = tracing;
  assert.deepEqual(rest, stat);
  assert.ok(otlp.otlp.http.endpoint);
  assert.equal(stat.providers.file.directory, '/etc/traefik/dynamic');
  assert.equal(stat.providers.file.watch, true);
  assert.equal(stat.accessLog.format, 'json');
  assert.ok(stat.metrics.prometheus);
  const plugin = stat.experimental.localPlugins.requestid.moduleName as string;
  assert.ok(fs.existsSync(path.join(root, 'gateway/plugins-local/src', plugin, '.traefik.yml')));
  assert.ok(fs.existsSync(path.join(root, 'gateway/plugins-local/src', plugin, 'requestid.go')));

  const env = services.traefik!.environment!;
  const dir = path.join(root, 'gateway/dynamic');
  const files = fs.readdirSync(dir).map((name) => ({ name, text: fs.readFileSync(path.join(dir, name), 'utf8') }));
  const cfg = parseDynamicFiles(files, { ...env, CORS_ORIGINS: 'https://app.example.com', SHORT_LINK_HOST: 'lnk.example.com', GATEWAY_TRUSTED_IPS: '173.245.48.0/20, 2400:cb00::/32' });
  assert.deepEqual(cfg.middlewares['rl-auth']!.rateLimit!.sourceCriterion, { ipStrategy: { excludedIPs: ['173.245.48.0/20', '2400:cb00::/32'] } });
  for (const [name, r] of Object.entries(cfg.routers)) {
    for (const ep of r.entryPoints ?? []) assert.ok(stat.entryPoints[ep], `${name}: unknown entrypoint ${ep}`);
    assert.ok(r.entryPoints?.length, `${name}: without entryPoints it would also attach to the metrics entrypoint`);
  }
  const ports: Record<string, string> = { core: '3001', media: '3002', redirect: '3004' };
  for (const [name, s] of Object.entries(cfg.services)) {
    const u = new URL(s.loadBalancer.servers[0]!.url);
    assert.ok(services[u.hostname], `service ${name} points at ${u.hostname}, not a compose service`);
    if (ports[u.hostname]) assert.equal(services[u.hostname]!.environment!.PORT, ports[u.hostname]);
  }
});

void test('Dockerfiles: multi-stage on node:24-bookworm-slim (Node 24 LTS), every workspace manifest copied for the lockfile, production deps, tsx runtime, non-root, healthcheck, COPY sources exist', () => {
  const lock = JSON.parse(read('package-lock.json')) as { packages: Record<string, { version: string }> };
  for (const file of dockerfiles) {
    const text = read(file);
    const lines = text.replace(/\\\n/g, ' ').split('\n').map((l) => l.trim());
    assert.match(text, /^ARG NODE_IMAGE=node:24-bookworm-slim$/m, file);
    // npm ci checks the lockfile against every workspace manifest: a missing one fails the build.
    for (const w of (JSON.parse(read('package.json')) as { workspaces: string[] }).workspaces) {
      assert.ok(lines.includes(`COPY ${w}/package.json ${w}/`), `${file}: COPY ${w}/package.json ${w}/`);
    }
    assert.ok(lines.filter((l) => l.startsWith('FROM ')).length >= 2, `${file}: multi-stage`);
    const users = lines.filter((l) => l.startsWith('USER '));
    assert.ok(users.length > 0 && !/^USER (root|0)\b/.test(users.at(-1)!), `${file}: runs as root`);
    const svc = Object.values(services).find((s) => s.build?.dockerfile === file);
    assert.ok(lines.some((l) => l.startsWith('HEALTHCHECK ')) || svc?.healthcheck, `${file}: no healthcheck`);
    const ws = JSON.parse(read(path.join(path.dirname(file), 'package.json'))).name as string;
    assert.ok(lines.some((l) => l.startsWith('RUN npm ci --omit=dev') && l.includes(`-w ${ws}`)), `${file}: npm ci --omit=dev -w ${ws}`);
    assert.ok(lines.includes('CMD ["node", "--import", "tsx", "src/server.ts"]'), `${file}: CMD`);
    assert.match(text, new RegExp(`ARG TSX_VERSION=${lock.packages['node_modules/tsx']!.version.replace(/\./g, '\\.')}\\b`), `${file}: tsx as locked`);
    for (const l of lines.filter((x) => x.startsWith('COPY ') && !x.includes('--from='))) {
      const parts = l.split(/\s+/).slice(1).filter((p) => !p.startsWith('--'));
      for (const src of parts.slice(0, -1)) assert.ok(fs.existsSync(path.join(root, src)), `${file}: COPY ${src} does not exist`);
    }
  }
  for (const name of ['core', 'media', 'redirect']) assert.ok(dockerfiles.includes(services[name]!.build!.dockerfile));
});

const clusterNodes = [1, 2, 3, 4, 5, 6].map((i) => `redis-node-${i}`);

void test('the topology of `npm run topology`: replicas, a Redis Cluster of 3 masters + 3 replicas, a streaming replica, ClickHouse', () => {
  // issue 18: 3 redirects, 2 click workers, 2 engines, 2 cores, 2 medias
  const replicas: Record<string, number> = { redirect: 3, 'click-worker': 2, hasura: 2, core: 2, media: 2 };
  for (const [name, n] of Object.entries(replicas)) assert.equal(services[name]!.deploy?.replicas, n, `${name} ×${n}`);
  // Prometheus finds each replica (DNS A records of the service name), not whichever one a static name hits
  for (const c of scrapeConfigs()) {
    for (const t of (c.static_configs ?? []).flatMap((sc) => sc.targets)) {
      const host = t.split(':')[0]!;
      assert.ok((services[host]?.deploy?.replicas ?? 1) === 1, `${c.job_name}: ${host} has replicas, scrape it with dns_sd_configs`);
    }
    for (const d of c.dns_sd_configs ?? []) assert.equal(d.type, 'A', c.job_name);
  }
  for (const [name, s] of Object.entries(services)) {
    // a replicated service can publish no fixed host port nor carry a fixed container name
    if ((s.deploy?.replicas ?? 1) > 1) assert.equal(s.ports, undefined, `${name}: replicas cannot share a host port`);
    // each worker replica must be its own consumer in the stream groups (default: hostname-pid)
    if (name === 'click-worker') assert.equal(s.environment!.WORKER_NAME, undefined, 'no WORKER_NAME shared by the replicas');
  }

  // Redis Cluster: six cluster-enabled nodes, each announcing its own service name, with its own volume
  const volumes = new Set<string>();
  for (const n of clusterNodes) {
    const s = services[n]!;
    const cmd = s.command!.join(' ');
    assert.match(cmd, /--cluster-enabled yes/, n);
    assert.match(cmd, new RegExp(`--cluster-announce-hostname ${n}( |$)`), `${n} announces itself`);
    assert.match(cmd, /--cluster-preferred-endpoint-type hostname/, n);
    assert.match(cmd, /--requirepass \$\{REDIS_PASSWORD:\?[^}]*\} --masterauth \$\{REDIS_PASSWORD:\?/, `${n}: replicas authenticate to their master`);
    assert.match(cmd, /--appendonly yes/, n);
    assert.equal(s.volumes?.length, 1, n);
    volumes.add(s.volumes![0]!.split(':')[0]!);
    assert.ok(s.healthcheck?.test?.length, n);
  }
  assert.equal(volumes.size, 6, 'a volume per node (nodes.conf and AOF)');
  const init = services['redis-cluster-init']!;
  assert.deepEqual(init.environment!.CLUSTER_NODES!.split(' '), clusterNodes);
  for (const n of clusterNodes) assert.equal(init.depends_on?.[n]?.condition, 'service_healthy');
  const script = read('docker/redis/cluster-create.sh');
  assert.match(script, /redis-cli --cluster create \$addrs --cluster-replicas 1 --cluster-yes/);
  assert.match(script, /cluster_state:ok/);

  // the redirect and the workers: the cluster (every node listed), sharded streams, the read replica
  const env = services.redirect!.environment!;
  for (const key of ['REDIS_URL', 'REDIRECT_CACHE_REDIS_URL']) {
    const url = env[key]!;
    assert.match(url, /^redis\+cluster:\/\//, key);
    const hosts = url.replace(/^redis\+cluster:\/\/[^@]*@/, '').split(',').map((h) => h.split(':')[0]);
    assert.deepEqual(hosts, clusterNodes, key);
  }
  assert.ok(Number(env.CLICK_STREAM_SHARDS!.replace(/^\$\{CLICK_STREAM_SHARDS:-(\d+)\}$/, '$1')) >= 3, 'at least one stream per master');
  assert.equal(env.CLICK_STREAM_MIN_REPLICAS, '1');
  assert.equal(services['click-worker']!.environment!.REDIS_URL, env.REDIS_URL);
  assert.equal(services['click-worker']!.environment!.CLICK_STREAM_SHARDS, env.CLICK_STREAM_SHARDS, 'producers and workers agree on the shards');
  const read_ = new URL(env.REDIRECT_DATABASE_READ_URL!.replace(/\$\{[^}]+\}/g, 'x'));
  assert.equal(read_.hostname, 'postgres-replica');
  assert.equal(read_.username, 'redirect_service');
  assert.equal(new URL(env.DATABASE_URL!.replace(/\$\{[^}]+\}/g, 'x')).hostname, 'postgres');
  assert.equal(services.redirect!.depends_on?.['redis-cluster-init']?.condition, 'service_completed_successfully');
  assert.equal(services.redirect!.depends_on?.['postgres-replica']?.condition, 'service_healthy');
  // core's config takes a redis:// URL only: it stays on the single Redis, as in the topology
  assert.match(services.core!.environment!.REDIS_URL!, /^redis:\/\/.*@redis:6379$/);

  // the streaming replica: its role, the primary's hba line for it, a base backup with a slot
  const replica = services['postgres-replica']!;
  assert.equal(replica.environment!.PRIMARY_HOST, 'postgres');
  assert.match(read('docker/postgres/init-roles.sh'), /CREATE ROLE replicator LOGIN REPLICATION/);
  assert.match(read('docker/postgres/pg_hba.conf'), /^host\s+replication\s+replicator\s+all\s+scram-sha-256$/m);
  assert.deepEqual(services.postgres!.command, ['postgres', '-c', 'hba_file=/etc/postgresql/pg_hba.conf']);
  assert.ok(services.postgres!.volumes!.includes('./docker/postgres/pg_hba.conf:/etc/postgresql/pg_hba.conf:ro'));
  const rs = read('docker/postgres/replica.sh');
  assert.match(rs, /pg_basebackup -h "\$PRIMARY_HOST" -U replicator -D "\$PGDATA" -X stream -C -S replica_1 -R/);
  assert.match(rs, /exec docker-entrypoint\.sh postgres$/m);
  assert.equal(replica.depends_on?.['db-init']?.condition, 'service_completed_successfully');

  // ClickHouse: the worker's sink, with the user compose creates
  const ch = services.clickhouse!;
  const chUrl = new URL(services['click-worker']!.environment!.CLICKHOUSE_URL!.replace(/\$\{[^}]+\}/g, 'x'));
  assert.equal(chUrl.hostname, 'clickhouse');
  assert.equal(chUrl.port, '8123');
  assert.equal(chUrl.username, ch.environment!.CLICKHOUSE_USER);
  assert.equal(services['click-worker']!.environment!.CLICKHOUSE_DATABASE, ch.environment!.CLICKHOUSE_DB);
  assert.equal(services['click-worker']!.depends_on?.clickhouse?.condition, 'service_healthy');
});

void test('the shell scripts compose runs parse (sh -n) and are executable', () => {
  for (const f of ['docker/postgres/init-roles.sh', 'docker/postgres/replica.sh', 'docker/redis/cluster-create.sh', 'docker/minio/setup.sh']) {
    const r = spawnSync('sh', ['-n', path.join(root, f)], { encoding: 'utf8' });
    assert.equal(r.status, 0, `${f}: ${r.stderr}`);
    assert.ok((fs.statSync(path.join(root, f)).mode & 0o111) !== 0, `${f} is executable (an entrypoint)`);
  }
});
