/** The redirect process: the shared lifecycle (common/src/runtime.ts) around buildRedirectApp. */
import { runProcess } from '@linkport/common';
import { buildRedirectApp } from './app.ts';
import { loadRedirectConfig } from './config.ts';

await runProcess({
  name: 'redirect',
  config: () => loadRedirectConfig(),
  logLevel: (c) => c.LOG_LEVEL,
  // The hot path: no async hooks for tracing; clicks carry their span explicitly (requestTraceparent).
  // Only the instrumentation with a use here (see TracingOptions.instrumentations).
  tracing: { context: 'sync', instrumentations: ['ioredis'] },
  async start(config, log) {
    const app = await buildRedirectApp(config, { log });
    const { url } = await app.listen();
    log.info({ url }, 'redirect listening');
    return {
      async close() {
        await app.close();
        const cpu = process.cpuUsage();
        log.info({ cpuUs: cpu.user + cpu.system, redirects: app.metrics.c.redirects_total }, 'redirect stopped');
      },
    };
  },
});
