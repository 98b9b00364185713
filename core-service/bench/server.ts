/**
 * The benchmarked process: core's app as server.ts builds it, plus one bare route as the baseline
 * (same Fastify instance, hooks and logger, no work). Prints {"port"} once listening.
 */
import { buildApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';

const app = await buildApp(loadConfig());
app.get('/bench/bare', async () => ({ ok: true }));
await app.listen({ host: '127.0.0.1', port: 0 });
const addr = app.server.address();
process.stdout.write(`${JSON.stringify({ port: typeof addr === 'object' && addr ? addr.port : 0 })}\n`);
process.on('SIGTERM', () => {
  void app.close().then(() => process.exit(0));
});
