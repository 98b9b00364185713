/** The dashboard's static server (`npm start`): builds web/dist when stale, then serves it. */
import { runProcess } from '@linkport/common';
import { buildWebApp } from './app.ts';
import { ensureBuilt } from './build.ts';
import { loadWebConfig } from './config.ts';

await runProcess({
  name: 'web',
  config: () => loadWebConfig(),
  logLevel: (c) => c.LOG_LEVEL,
  async start(config, log) {
    if (config.WEB_BUILD === 'auto') await ensureBuilt(config.WEB_DIST_DIR, { log: (m) => log.info(m) });
    const app = await buildWebApp(config);
    const url = await app.listen({ host: config.HOST, port: config.PORT });
    log.info({ url }, 'web listening');
    return { close: () => app.close() };
  },
});
