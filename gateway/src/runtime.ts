/**
 * A compiled configuration: routers sorted by priority (default = rule length, src `mux.go`),
 * each with its middleware chain in declared order ending in its service. Traefik leaves equal
 * priorities unordered (sort.Sort); we break ties by router name so the order is reproducible.
 */
import type { ProxyServer } from 'http-proxy-3';
import type { DynamicConfig } from './config/schema.ts';
import { localName } from './config/load.ts';
import { buildMiddleware, compose, expandMiddlewares, type LimiterStore } from './middlewares/index.ts';
import type { Handler } from './middlewares/types.ts';
import { createService, type Service } from './proxy/service.ts';
import { compileRule, rulePriority, type Matcher } from './rules/matcher.ts';

export interface Route {
  name: string;
  priority: number;
  match: Matcher;
  handler: Handler;
  serviceName: string;
}

export interface Runtime {
  routes: Route[];
  /** Releases upstream connections after the requests in flight finish. */
  close(): Promise<void>;
}

export function buildRuntime(cfg: DynamicConfig, entryPoint: string, proxy: ProxyServer, store: LimiterStore): Runtime {
  const services = new Map<string, Service>();
  const service = (name: string): Service => {
    let s = services.get(name);
    if (!s) {
      const sc = cfg.services[name];
      if (!sc) throw new Error(`service ${name} does not exist`);
      const t = sc.loadBalancer.serversTransport;
      s = createService({ name, config: sc, transport: t ? cfg.serversTransports[localName(t) as string] : undefined, proxy });
      services.set(name, s);
    }
    return s;
  };
  const routes: Route[] = [];
  for (const [name, r] of Object.entries(cfg.routers)) {
    if (r.entryPoints && !r.entryPoints.includes(entryPoint)) continue;
    const serviceName = localName(r.service) as string;
    const mws = expandMiddlewares(cfg, r.middlewares).map((m) => buildMiddleware(m, cfg.middlewares[m] as never, name, store));
    routes.push({ name, priority: rulePriority(r.rule, r.priority), match: compileRule(r.rule), handler: compose(mws, service(serviceName).handle), serviceName });
  }
  routes.sort((a, b) => b.priority - a.priority || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return {
    routes,
    close: async () => {
      await Promise.all([...services.values()].map((s) => s.close()));
    },
  };
}
