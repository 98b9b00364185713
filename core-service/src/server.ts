/** core-service process: the shared lifecycle (common/src/runtime.ts) around buildApp. */
import { runProcess } from '@linkport/common';
import { buildApp } from './app.ts';
import { loadConfig } from './config.ts';

await runProcess({
  name: 'core-service',
  config: () => loadConfig(),
  logLevel: (c) => c.LOG_LEVEL,
  async start(config) {
    const app = await buildApp(config);
    await app.listen({ host: config.HOST, port: config.PORT });
    return { close: () => app.close() };
  },
});
