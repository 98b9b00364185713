import path from 'node:path';
import type { LauncherConfig } from './config.ts';
import type { PostgresPart, RedisPart, S3Part } from './infra.ts';
import type { MetricsTarget } from './prometheus.ts';

export type Row = [label: string, value: string];

/** Hides a URL's password in the printed table (the local ones are in `.data`, real ones are not ours to print). */
function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}

/** The rows printed once the stack is up: public URLs first, then what sits behind them. */
export function urlRows(a: {
  cfg: LauncherConfig;
  started: string[];
  gatewayUrl: string | undefined;
  urlFor: (name: string) => string;
  pg: PostgresPart;
  redis: RedisPart;
  s3: S3Part;
  /** Each service's private /metrics (prometheus.ts metricsTargets). */
  metrics?: MetricsTarget[];
  /** The local Prometheus (`--prometheus`), when started. */
  prometheusUrl?: string | undefined;
}): Row[] {
  const { cfg, started, gatewayUrl, urlFor } = a;
  const rows: Row[] = [];
  const running = cfg.selected.filter((s) => started.includes(s.def.name));
  if (gatewayUrl) {
    rows.push(['gateway', gatewayUrl]);
    for (const { def } of running) for (const [label, p] of def.publicUrls ?? []) rows.push([label, gatewayUrl + p]);
    if (cfg.hasuraUrl) rows.push(['GraphQL', `${gatewayUrl}/v1/links/graphql`]);
    // The gateway's own liveness is Traefik's ping (/health/* belongs to the redirect catch-all).
    rows.push(['gateway ping', `${gatewayUrl}/ping`]);
  } else {
    rows.push(['gateway', 'not running (gateway/src/server.ts not present): services answer on their own ports']);
  }
  if (started.includes('engine')) {
    rows.push(['admin secret', `hasuraAdminSecret in ${path.join(cfg.dataDir, 'secrets.json')} (for /v1/metadata and /v1/query on the engine's own port)`]);
  } else if (cfg.hasuraUrl) {
    rows.push(['Hasura (HASURA_URL)', cfg.hasuraUrl]);
  }
  // Docs are public at the gateway (gateway/dynamic: *-public routers).
  for (const { def } of running) if (def.docs) rows.push([`${def.name} API docs`, (gatewayUrl ?? urlFor(def.name)) + def.docs]);
  for (const { def, port } of running) {
    if (def.name === 'gateway') continue;
    const health = def.readiness.kind === 'http' ? `  (health ${def.readiness.paths[0]})` : '';
    rows.push([def.name, port ? urlFor(def.name) + health : 'running (no port)']);
  }
  // Private, like the ports above: the gateway answers /metrics with a 404 (telemetry/README.md).
  for (const m of a.metrics ?? []) rows.push([`${m.service} metrics`, m.url]);
  if (a.prometheusUrl) rows.push(['Prometheus', `${a.prometheusUrl}  (rules: docker/observability/prometheus/rules)`]);
  rows.push([`S3${a.s3.embedded ? '' : ' (S3_ENDPOINT)'}`, `${a.s3.endpoint}  bucket ${a.s3.bucket}${a.s3.embedded ? `, key ${a.s3.accessKeyId}/${a.s3.secretAccessKey}` : ''}`]);
  rows.push(['media public URL', a.s3.publicBaseUrl]);
  rows.push([`PostgreSQL${a.pg.embedded ? '' : ' (DATABASE_URL)'}`, a.pg.embedded ? a.pg.adminUrl : redact(a.pg.adminUrl)]);
  rows.push([`Redis${a.redis.embedded ? '' : ' (REDIS_URL)'}`, a.redis.embedded ? a.redis.url : redact(a.redis.url)]);
  rows.push(['logs', cfg.logsDir]);
  return rows;
}

export function formatTable(rows: Row[]): string {
  const width = Math.max(...rows.map(([l]) => l.length));
  const line = '─'.repeat(width + 2);
  return [`┌${line}`, ...rows.map(([l, v]) => `│ ${l.padEnd(width)}  ${v}`), `└${line}`].join('\n');
}
