import { onShutdown, type Logger } from '@linkport/common';
import { buildApp } from './app.ts';
import { loadConfig } from './config.ts';

const config = loadConfig();
const app = await buildApp(config);
await app.listen({ host: config.HOST, port: config.PORT });
// Fastify's logger is the pino instance built from loggerOptions.
onShutdown(() => app.close(), app.log as Logger);
