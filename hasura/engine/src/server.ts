/**
 * The engine process: env (Hasura's variables, CONTRIBUTING.md) → buildApp → listen on 3003, in the
 * shared lifecycle (common/src/runtime.ts).
 */
import { runProcess } from '@linkport/common';
import { loadEngineConfig } from './config.ts';
import { buildApp } from './app.ts';

await runProcess({
  name: 'hasura-engine',
  config: () => loadEngineConfig(process.env),
  logLevel: (c) => c.logLevel,
  async start(config) {
    const app = await buildApp(config);
    await app.listen({ host: config.host, port: config.port });
    return { close: () => app.close() };
  },
});
