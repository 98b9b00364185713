/**
 * The gateway's Prometheus metrics under Traefik v3's names and labels (src pkg/metrics/prometheus.go,
 * doc observability/metrics/prometheus.md), so one dashboard and one set of alert rules serve the
 * Node gateway and Traefik alike:
 *
 *   traefik_entrypoint_requests_total{code,method,protocol,entrypoint}
 *   traefik_entrypoint_request_duration_seconds{code,method,protocol,entrypoint}   (histogram)
 *   traefik_router_requests_total{code,method,protocol,router,service}             (addRoutersLabels)
 *   traefik_router_request_duration_seconds{code,method,protocol,router,service}
 *   traefik_service_requests_total{code,method,protocol,service}
 *   traefik_service_request_duration_seconds{code,method,protocol,service}
 *   traefik_open_connections{entrypoint,protocol}
 *   traefik_config_reloads_total, traefik_config_last_reload_success (unix seconds)
 *
 * Router and service values carry the provider suffix (`core@file`) as Traefik's do. Buckets are
 * Traefik's default (0.1, 0.3, 1.2, 5). The method label is bounded: verbs outside RFC 9110's and
 * PATCH are `EXTENSION_METHOD`, so no request can mint a series (Traefik passes any valid method).
 * Served on the private probe port (GATEWAY_PROBE_PORT), never on the public entrypoint — as with
 * Traefik's `metrics` entrypoint.
 */
import client from 'prom-client';
import { createRegistry, type Registry } from '@linkport/common';

export const TRAEFIK_BUCKETS = [0.1, 0.3, 1.2, 5.0];

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'CONNECT', 'TRACE']);

export type Protocol = 'http' | 'websocket' | 'sse';

export interface RequestSample {
  entryPoint: string;
  method: string;
  protocol: Protocol;
  code: number;
  /** Router and service names with their provider (`core@file`), when a router matched. */
  router: string | undefined;
  service: string | undefined;
  seconds: number;
}

/** One label set of a counter. */
interface CounterCell {
  labels: Record<string, string>;
  value: number;
}

/** One label set of a histogram: per-bucket counts (the last one above every bound), cumulated at scrape time. */
interface HistogramCell {
  labels: Record<string, string>;
  counts: number[];
  sum: number;
  count: number;
}

interface ExportedValue {
  value: number;
  labels: Record<string, string | number>;
  sharedLabels?: Record<string, string>;
  metricName?: string;
}

/**
 * Counters and histograms of the per-request metrics, registered in the prom-client registry as
 * custom metrics (the registry takes any object with name, help, type, get() and reset(); the text
 * format is written by prom-client itself). prom-client's own children hash their label object on
 * every inc/observe even when bound, and six such calls per request cost ~10 µs of the gateway's
 * ~90 µs CPU per proxied request (bench:gateway, short-link path, metrics on vs off in the same
 * run); here a request is six increments on cells looked up once per label combination.
 */
class RequestCounter {
  readonly type: 'counter' | 'gauge' = 'counter';
  readonly aggregator = 'sum';
  private readonly cells = new Map<string, CounterCell>();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}
  peek(key: string): CounterCell | undefined {
    return this.cells.get(key);
  }
  cell(key: string, labels: Record<string, string>): CounterCell {
    let c = this.cells.get(key);
    if (!c) this.cells.set(key, (c = { labels, value: 0 }));
    return c;
  }
  getForPromString(): { name: string; help: string; type: string; aggregator: string; values: ExportedValue[] } {
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values: [...this.cells.values()].map((c) => ({ value: c.value, labels: c.labels })) };
  }
  get(): ReturnType<RequestCounter['getForPromString']> {
    return this.getForPromString();
  }
  reset(): void {
    this.cells.clear();
  }
}

class RequestHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly cells = new Map<string, HistogramCell>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly buckets: number[],
  ) {}
  cell(key: string, labels: Record<string, string>): HistogramCell {
    let c = this.cells.get(key);
    if (!c) this.cells.set(key, (c = { labels, counts: new Array<number>(this.buckets.length + 1).fill(0), sum: 0, count: 0 }));
    return c;
  }
  observe(c: HistogramCell, seconds: number): void {
    const b = this.buckets;
    let i = 0;
    while (i < b.length && seconds > (b[i] as number)) i++;
    c.counts[i] = (c.counts[i] as number) + 1;
    c.sum += seconds;
    c.count++;
  }
  /** prom-client's histogram export: cumulative `_bucket` series with `le`, then `+Inf`, `_sum`, `_count`. */
  getForPromString(): { name: string; help: string; type: string; aggregator: string; values: ExportedValue[] } {
    const values: ExportedValue[] = [];
    for (const c of this.cells.values()) {
      let acc = 0;
      for (let i = 0; i < this.buckets.length; i++) {
        acc += c.counts[i] as number;
        values.push({ labels: { le: this.buckets[i] as number }, sharedLabels: c.labels, value: acc, metricName: `${this.name}_bucket` });
      }
      values.push({ labels: { le: '+Inf' }, sharedLabels: c.labels, value: c.count, metricName: `${this.name}_bucket` });
      values.push({ labels: {}, sharedLabels: c.labels, value: c.sum, metricName: `${this.name}_sum` });
      values.push({ labels: {}, sharedLabels: c.labels, value: c.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }
  /** The JSON form (registry.getMetricsAsJSON): labels merged, as prom-client's get() gives them. */
  get(): ReturnType<RequestHistogram['getForPromString']> {
    const data = this.getForPromString();
    data.values = data.values.map(({ sharedLabels, labels, ...rest }) => ({ ...rest, labels: { ...labels, ...sharedLabels } }));
    return data;
  }
  reset(): void {
    this.cells.clear();
  }
}

/** traefik_open_connections: a gauge whose cells go up and down (same cells as the counters). */
class RequestGauge extends RequestCounter {
  override readonly type = 'gauge';
}

export class GatewayMetrics {
  readonly registry: Registry;
  private readonly epReqs: RequestCounter;
  private readonly epDur: RequestHistogram;
  private readonly rtReqs: RequestCounter;
  private readonly rtDur: RequestHistogram;
  private readonly svcReqs: RequestCounter;
  private readonly svcDur: RequestHistogram;
  private readonly open: RequestGauge;
  private readonly reloads: client.Counter<string>;
  private readonly lastReload: client.Gauge<string>;

  constructor(opts: { registry?: Registry; buckets?: number[] } = {}) {
    const registry = (this.registry = opts.registry ?? createRegistry());
    const buckets = [...(opts.buckets ?? TRAEFIK_BUCKETS)].sort((a, b) => a - b);
    const registers = [registry];
    const add = <M extends RequestCounter | RequestHistogram>(m: M): M => {
      registry.registerMetric(m as unknown as client.Metric);
      return m;
    };
    this.epReqs = add(new RequestCounter('traefik_entrypoint_requests_total', 'How many HTTP requests processed on an entrypoint, partitioned by status code, protocol, and method.'));
    this.epDur = add(new RequestHistogram('traefik_entrypoint_request_duration_seconds', 'How long it took to process the request on an entrypoint, partitioned by status code, protocol, and method.', buckets));
    this.rtReqs = add(new RequestCounter('traefik_router_requests_total', 'How many HTTP requests are processed on a router, partitioned by service, status code, protocol, and method.'));
    this.rtDur = add(new RequestHistogram('traefik_router_request_duration_seconds', 'How long it took to process the request on a router, partitioned by service, status code, protocol, and method.', buckets));
    this.svcReqs = add(new RequestCounter('traefik_service_requests_total', 'How many HTTP requests processed on a service, partitioned by status code, protocol, and method.'));
    this.svcDur = add(new RequestHistogram('traefik_service_request_duration_seconds', 'How long it took to process the request on a service, partitioned by status code, protocol, and method.', buckets));
    // a gauge cell per (entrypoint, protocol), moved twice per request: same reason as above
    this.open = new RequestGauge('traefik_open_connections', 'How many open connections exist, by entryPoint and protocol.');
    registry.registerMetric(this.open as unknown as client.Metric);
    this.reloads = new client.Counter({ name: 'traefik_config_reloads_total', help: 'Config reloads.', registers });
    this.lastReload = new client.Gauge({ name: 'traefik_config_last_reload_success', help: 'Last config reload success.', registers });
    this.lastReload.set(Math.floor(Date.now() / 1000));
  }

  private openCell(entryPoint: string, protocol: Protocol): CounterCell {
    const key = `${entryPoint}\u0000${protocol}`;
    return this.open.peek(key) ?? this.open.cell(key, { entrypoint: entryPoint, protocol });
  }

  opened(entryPoint: string, protocol: Protocol): void {
    this.openCell(entryPoint, protocol).value++;
  }

  closed(entryPoint: string, protocol: Protocol): void {
    this.openCell(entryPoint, protocol).value--;
  }

  /**
   * The cells of one (code, method, protocol, entrypoint, router, service) combination, looked up
   * once. The set is bounded by the label values themselves (codes × bounded methods × routers),
   * so is this cache.
   */
  private readonly bound = new Map<string, { counters: CounterCell[]; histograms: Array<[RequestHistogram, HistogramCell]> }>();

  request(s: RequestSample): void {
    const method = METHODS.has(s.method) ? s.method : 'EXTENSION_METHOD';
    const key = `${s.code}\u0000${method}\u0000${s.protocol}\u0000${s.entryPoint}\u0000${s.router ?? ''}\u0000${s.service ?? ''}`;
    let b = this.bound.get(key);
    if (!b) {
      const code = String(s.code);
      const ep = { code, method, protocol: s.protocol, entrypoint: s.entryPoint };
      // each metric's cells are keyed by its own labels: routers on one entrypoint share its series
      const epKey = `${code}\u0000${method}\u0000${s.protocol}\u0000${s.entryPoint}`;
      b = { counters: [this.epReqs.cell(epKey, ep)], histograms: [[this.epDur, this.epDur.cell(epKey, ep)]] };
      if (s.router && s.service) {
        const rt = { code, method, protocol: s.protocol, router: s.router, service: s.service };
        const rtKey = `${code}\u0000${method}\u0000${s.protocol}\u0000${s.router}\u0000${s.service}`;
        b.counters.push(this.rtReqs.cell(rtKey, rt));
        b.histograms.push([this.rtDur, this.rtDur.cell(rtKey, rt)]);
      }
      if (s.service) {
        const svc = { code, method, protocol: s.protocol, service: s.service };
        const svcKey = `${code}\u0000${method}\u0000${s.protocol}\u0000${s.service}`;
        b.counters.push(this.svcReqs.cell(svcKey, svc));
        b.histograms.push([this.svcDur, this.svcDur.cell(svcKey, svc)]);
      }
      this.bound.set(key, b);
    }
    for (const c of b.counters) c.value++;
    for (const [h, c] of b.histograms) h.observe(c, s.seconds);
  }

  /** A dynamic configuration applied (Traefik counts only successful reloads). */
  reloaded(): void {
    this.reloads.inc();
    this.lastReload.set(Math.floor(Date.now() / 1000));
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }
}

/** Traefik's protocol label: `websocket` for upgrades, `sse` for event streams, else `http`. */
export function protocolOf(headers: { upgrade?: string | undefined; accept?: string | undefined }, upgrade: boolean): Protocol {
  if (upgrade) return 'websocket';
  if (headers.accept === 'text/event-stream') return 'sse';
  return 'http';
}
