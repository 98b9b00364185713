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

export class GatewayMetrics {
  readonly registry: Registry;
  private readonly epReqs: client.Counter<string>;
  private readonly epDur: client.Histogram<string>;
  private readonly rtReqs: client.Counter<string>;
  private readonly rtDur: client.Histogram<string>;
  private readonly svcReqs: client.Counter<string>;
  private readonly svcDur: client.Histogram<string>;
  private readonly open: client.Gauge<string>;
  private readonly reloads: client.Counter<string>;
  private readonly lastReload: client.Gauge<string>;

  constructor(opts: { registry?: Registry; buckets?: number[] } = {}) {
    const registry = (this.registry = opts.registry ?? createRegistry());
    const buckets = opts.buckets ?? TRAEFIK_BUCKETS;
    const registers = [registry];
    const ep = ['code', 'method', 'protocol', 'entrypoint'];
    const rt = ['code', 'method', 'protocol', 'router', 'service'];
    const svc = ['code', 'method', 'protocol', 'service'];
    this.epReqs = new client.Counter({ name: 'traefik_entrypoint_requests_total', help: 'How many HTTP requests processed on an entrypoint, partitioned by status code, protocol, and method.', labelNames: ep, registers });
    this.epDur = new client.Histogram({ name: 'traefik_entrypoint_request_duration_seconds', help: 'How long it took to process the request on an entrypoint, partitioned by status code, protocol, and method.', labelNames: ep, buckets, registers });
    this.rtReqs = new client.Counter({ name: 'traefik_router_requests_total', help: 'How many HTTP requests are processed on a router, partitioned by service, status code, protocol, and method.', labelNames: rt, registers });
    this.rtDur = new client.Histogram({ name: 'traefik_router_request_duration_seconds', help: 'How long it took to process the request on a router, partitioned by service, status code, protocol, and method.', labelNames: rt, buckets, registers });
    this.svcReqs = new client.Counter({ name: 'traefik_service_requests_total', help: 'How many HTTP requests processed on a service, partitioned by status code, protocol, and method.', labelNames: svc, registers });
    this.svcDur = new client.Histogram({ name: 'traefik_service_request_duration_seconds', help: 'How long it took to process the request on a service, partitioned by status code, protocol, and method.', labelNames: svc, buckets, registers });
    this.open = new client.Gauge({ name: 'traefik_open_connections', help: 'How many open connections exist, by entryPoint and protocol.', labelNames: ['entrypoint', 'protocol'], registers });
    this.reloads = new client.Counter({ name: 'traefik_config_reloads_total', help: 'Config reloads.', registers });
    this.lastReload = new client.Gauge({ name: 'traefik_config_last_reload_success', help: 'Last config reload success.', registers });
    this.lastReload.set(Math.floor(Date.now() / 1000));
  }

  private readonly openBound = new Map<string, { inc(): void; dec(): void }>();
  private openChild(entryPoint: string, protocol: Protocol): { inc(): void; dec(): void } {
    const key = `${entryPoint}\u0000${protocol}`;
    let c = this.openBound.get(key);
    if (!c) this.openBound.set(key, (c = this.open.labels({ entrypoint: entryPoint, protocol })));
    return c;
  }

  opened(entryPoint: string, protocol: Protocol): void {
    this.openChild(entryPoint, protocol).inc();
  }

  closed(entryPoint: string, protocol: Protocol): void {
    this.openChild(entryPoint, protocol).dec();
  }

  /**
   * The label children of one (code, method, protocol, entrypoint, router, service) combination,
   * bound once: prom-client hashes the label object on every inc/observe otherwise, six times per
   * request (measured with --cpu-prof: ~3 % of the gateway's CPU). The set is bounded by the label
   * values themselves (codes × bounded methods × routers), so is the cache.
   */
  private readonly bound = new Map<string, Array<{ inc(): void } | { observe(v: number): void }>>();

  request(s: RequestSample): void {
    const method = METHODS.has(s.method) ? s.method : 'EXTENSION_METHOD';
    const key = `${s.code}\u0000${method}\u0000${s.protocol}\u0000${s.entryPoint}\u0000${s.router ?? ''}\u0000${s.service ?? ''}`;
    let b = this.bound.get(key);
    if (!b) {
      const code = String(s.code);
      const ep = { code, method, protocol: s.protocol, entrypoint: s.entryPoint };
      b = [this.epReqs.labels(ep), this.epDur.labels(ep)];
      if (s.router && s.service) {
        const rt = { code, method, protocol: s.protocol, router: s.router, service: s.service };
        b.push(this.rtReqs.labels(rt), this.rtDur.labels(rt));
      }
      if (s.service) {
        const svc = { code, method, protocol: s.protocol, service: s.service };
        b.push(this.svcReqs.labels(svc), this.svcDur.labels(svc));
      }
      this.bound.set(key, b);
    }
    // pairs: counter child, then histogram child
    for (let i = 0; i < b.length; i += 2) {
      (b[i] as { inc(): void }).inc();
      (b[i + 1] as { observe(v: number): void }).observe(s.seconds);
    }
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
