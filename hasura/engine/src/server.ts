/**
 * The engine process: env (Hasura's variables, CONTRIBUTING.md) → buildApp → listen on 3003 →
 * graceful close on SIGTERM/SIGINT.
 */
import { createLogger, onShutdown } from '@linkport/common';
import { loadEngineConfig } from './config.ts';
import { buildApp } from './app.ts';

const config = loadEngineConfig(process.env);
const log = createLogger('hasura-engine', config.logLevel);
const app = await buildApp(config);
await app.listen({ host: config.host, port: config.port });
log.info({ port: config.port }, 'hasura engine listening');
onShutdown(() => app.close(), log);
