/**
 * `npm start -- --prometheus`: Debian's `prometheus` scraping the local stack with the alerting
 * rules of the compose stack (docker/observability/prometheus/rules), so the same alerts can be
 * tried against a laptop's traffic. Opt-in: nothing starts without the flag. The binary is installed
 * with apt-get when missing and we are root, as redis-server is (devstack/src/provision.ts);
 * LINKPORT_NO_INSTALL=1 turns that off. It listens on loopback only (PROMETHEUS_PORT, 9090), keeps
 * its data in <data dir>/prometheus and stops with the stack (stack.ts: the last part started, so
 * the first stopped).
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { LauncherError } from './errors.ts';
import type { Part } from './infra.ts';
import { sleep } from './procs.ts';

/** One `/metrics` the launcher knows about: its Prometheus job name and where to scrape it. */
export interface MetricsTarget {
  /** The service's name in the launcher (`core`, `worker`, `gateway`, …). */
  service: string;
  /** The job label, as docker/observability/prometheus/prometheus.yml names it (rules match on it). */
  job: string;
  url: string;
}

/** Jobs as the compose stack names them; the Node gateway stands where Traefik does there. */
const jobNames: Record<string, string> = {
  core: 'core',
  media: 'media',
  engine: 'hasura-engine',
  redirect: 'redirect',
  worker: 'click-worker',
  gateway: 'gateway',
};

/**
 * The private `/metrics` of each running service (telemetry/README.md "where"): the service's own
 * port, the gateway's probe port. An external Hasura (HASURA_URL) is not ours to scrape.
 */
export function metricsTargets(a: {
  started: string[];
  urlFor: (name: string) => string;
  probeUrlFor: (name: string) => string | undefined;
  externalEngine: boolean;
}): MetricsTarget[] {
  const out: MetricsTarget[] = [];
  for (const service of a.started) {
    const job = jobNames[service];
    if (!job || (service === 'engine' && a.externalEngine)) continue;
    const base = service === 'gateway' ? a.probeUrlFor(service) : a.urlFor(service);
    if (base) out.push({ service, job, url: `${base}/metrics` });
  }
  return out;
}

/**
 * The rule files of a rules folder: every `*.yml` but the `promtool test rules` files (`*.test.yml`)
 * beside them, which Prometheus would refuse as rule files ("field tests not found").
 */
export function ruleFiles(rulesDir: string): string[] {
  return fs
    .readdirSync(rulesDir)
    .filter((f) => /\.ya?ml$/.test(f) && !/\.test\.ya?ml$/.test(f))
    .sort()
    .map((f) => path.join(rulesDir, f));
}

/** prometheus.yml for the local stack (YAML is a superset of JSON: no YAML writer needed). */
export function prometheusConfig(targets: MetricsTarget[], rules: string[], scrapeInterval = '5s'): string {
  const config = {
    global: { scrape_interval: scrapeInterval, evaluation_interval: scrapeInterval },
    rule_files: rules,
    scrape_configs: targets.map((t) => {
      const u = new URL(t.url);
      return { job_name: t.job, metrics_path: u.pathname, scheme: u.protocol.replace(':', ''), static_configs: [{ targets: [u.host], labels: { service: t.service } }] };
    }),
  };
  return `# Written by npm start -- --prometheus (launcher/src/prometheus.ts) on every start.\n${JSON.stringify(config, null, 2)}\n`;
}

const missing =
  'prometheus is not installed: `apt-get install prometheus` (Debian/Ubuntu) or set PROMETHEUS_BIN to a prometheus binary; `npm start` without --prometheus needs none.';

function onPath(bin: string): string | undefined {
  if (bin.includes('/')) return fs.existsSync(bin) ? bin : undefined;
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const p = path.join(dir, bin);
    if (dir && fs.existsSync(p)) return p;
  }
  return undefined;
}

/** The prometheus binary, installed from Debian's package when missing and we may. */
export function ensurePrometheus(opts: { bin?: string | undefined; autoInstall: boolean; log: (line: string) => void }): string {
  const found = onPath(opts.bin ?? 'prometheus');
  if (found) return found;
  const isRoot = process.getuid?.() === 0;
  const hasApt = spawnSync('apt-get', ['--version'], { stdio: 'ignore' }).status === 0;
  if (!opts.autoInstall || opts.bin || !isRoot || !hasApt) throw new LauncherError(missing);
  opts.log("prometheus not found: installing Debian's package (apt-get update && apt-get install -y prometheus)…");
  const o = { stdio: ['ignore', 2, 2] as ['ignore', number, number], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } };
  if (spawnSync('apt-get', ['update', '-q'], o).status !== 0) opts.log('apt-get update failed; trying the install with the lists there are…');
  // --no-install-recommends: the package recommends node-exporter and friends, which would start as
  // system services; only the binary is wanted here.
  spawnSync('apt-get', ['install', '-y', '-q', '--no-install-recommends', 'prometheus'], o);
  const after = onPath('prometheus');
  if (!after) throw new LauncherError(`installing prometheus failed — ${missing}`);
  return after;
}

export interface PrometheusPart extends Part {
  url: string;
  configFile: string;
}

/**
 * Writes the configuration and starts prometheus on loopback; resolves once `/-/ready` answers.
 * Not detached: it stays in the launcher's process group, so whatever ends the launcher's group
 * (supervise.ts) ends it too.
 */
export async function startPrometheus(opts: {
  bin: string;
  dataDir: string;
  host: string;
  port: number;
  targets: MetricsTarget[];
  rulesDir: string;
  logFile: string;
  scrapeInterval?: string;
  readyTimeoutMs?: number;
}): Promise<PrometheusPart> {
  const dir = path.join(opts.dataDir, 'prometheus');
  fs.mkdirSync(path.join(dir, 'data'), { recursive: true });
  const configFile = path.join(dir, 'prometheus.yml');
  fs.writeFileSync(configFile, prometheusConfig(opts.targets, ruleFiles(opts.rulesDir), opts.scrapeInterval));
  const log = fs.createWriteStream(opts.logFile, { flags: 'w' });
  const child = spawn(
    opts.bin,
    [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=${opts.host}:${opts.port}`,
      '--storage.tsdb.retention.time=2d',
      // Debian's build looks for its consoles under /etc/prometheus; none are used here.
      `--web.console.templates=${dir}`,
      `--web.console.libraries=${dir}`,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout.pipe(log, { end: false });
  child.stderr.pipe(log, { end: false });
  let exited: number | null | undefined;
  const gone = new Promise<void>((resolve) =>
    child.once('exit', (code) => {
      exited = code;
      resolve();
    }),
  );
  child.once('error', () => (exited = -1));
  const url = `http://${opts.host}:${opts.port}`;
  const stop = async () => {
    if (exited === undefined) {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await gone;
      clearTimeout(t);
    }
    log.end();
  };
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 30_000);
  for (;;) {
    if (exited !== undefined) {
      await stop();
      const tail = fs.readFileSync(opts.logFile, 'utf8').trim().split('\n').slice(-5).join('\n  │ ');
      throw new LauncherError(`prometheus exited (${exited}) before it was ready (log: ${opts.logFile}):\n  │ ${tail}`);
    }
    try {
      const res = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1000) });
      await res.body?.cancel();
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new LauncherError(`prometheus did not get ready within ${Math.round((opts.readyTimeoutMs ?? 30_000) / 1000)} s (log: ${opts.logFile}).`);
    }
    await sleep(200);
  }
  return { pid: child.pid, url, configFile, stop };
}
