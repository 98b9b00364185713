import { createLogger, onShutdown } from '@linkport/common';
import { buildRedirectApp } from './app.ts';
import { loadRedirectConfig } from './config.ts';

const config = loadRedirectConfig();
const log = createLogger('redirect', config.LOG_LEVEL);
const app = await buildRedirectApp(config, { log });
const { url } = await app.listen();
log.info({ url }, 'redirect listening');
onShutdown(async () => {
  await app.close();
  const cpu = process.cpuUsage();
  log.info({ cpuUs: cpu.user + cpu.system, redirects: app.metrics.c.redirects_total }, 'redirect stopped');
}, log);
