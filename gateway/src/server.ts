/**
 * The Node gateway process: env → dynamic config → buildGateway → listen, hot reload on change, in
 * the shared lifecycle (common/src/runtime.ts). The only file that touches the process. Its own
 * `/health/*` answer on GATEWAY_PROBE_PORT (private), as Traefik keeps ping and metrics on an
 * internal entrypoint; the public port keeps Traefik's `/ping`.
 */
import { z } from 'zod';
import { envPort, loadConfig, runProcess, serveProbes } from '@linkport/common';
import { buildGateway } from './app.ts';
import { gatewayEnvSchema, templateEnv } from './config/env.ts';
import { ConfigLoadError, loadDynamicDir } from './config/load.ts';
import { watchDynamicDir } from './config/watch.ts';
import { GatewayMetrics } from './metrics.ts';

const probeEnv = z.object({ GATEWAY_PROBE_PORT: envPort.default(8082) });

await runProcess({
  name: 'gateway',
  config: () => ({ env: loadConfig(gatewayEnvSchema), probe: loadConfig(probeEnv) }),
  logLevel: (c) => c.env.LOG_LEVEL,
  async start({ env, probe }, log) {
    const tenv = templateEnv(env, process.env);
    let config;
    try {
      config = await loadDynamicDir(env.GATEWAY_DYNAMIC_DIR, tenv);
    } catch (err) {
      if (err instanceof ConfigLoadError) log.fatal({ code: err.code, issues: err.issues }, 'dynamic configuration refused');
      throw err;
    }
    const metrics = new GatewayMetrics();
    const gateway = buildGateway(config, {
      entryPoint: env.GATEWAY_ENTRYPOINT,
      trustedIPs: env.GATEWAY_TRUSTED_IPS,
      accessLog: env.GATEWAY_ACCESS_LOG === 'stdout' ? process.stdout : undefined,
      accessLogHeaders: ['X-Request-Id', 'User-Agent'],
      ping: env.GATEWAY_PING,
      metrics,
    });
    // access-log lines are buffered for up to one event-loop turn; stdout writes are synchronous, so this lands
    process.on('exit', () => gateway.flushAccessLog());
    const stopWatching = watchDynamicDir(env.GATEWAY_DYNAMIC_DIR, tenv, env.GATEWAY_RELOAD_DEBOUNCE_MS, {
      onConfig(next) {
        gateway.reload(next);
        metrics.reloaded();
        log.info({ generation: gateway.generation, routers: Object.keys(next.routers).length }, 'dynamic configuration reloaded');
      },
      onInvalid(issues) {
        log.error({ code: 'GATEWAY_CONFIG_INVALID', issues }, 'dynamic configuration refused; the last good one keeps serving');
      },
    });
    const addr = await gateway.listen(env.PORT, env.HOST);
    const probes = await serveProbes({ host: env.HOST, port: probe.GATEWAY_PROBE_PORT, checks: [], metrics: () => metrics.render() });
    log.info({ port: addr.port, host: env.HOST, probes: probes.url, dir: env.GATEWAY_DYNAMIC_DIR, routers: Object.keys(config.routers).length }, 'gateway listening');
    return {
      async close() {
        probes.draining();
        stopWatching();
        await gateway.close();
        await probes.close();
      },
    };
  },
});
