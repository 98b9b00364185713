// The same redirect handler mounted in Fastify, to measure what Fastify's router, hooks and
// request/reply objects add to the hot path (the answer is written by the same code in both).
import Fastify from 'fastify';
import { createLogger } from '@linkport/common';
import { buildRedirectApp } from '../src/app.ts';
import { loadRedirectConfig } from '../src/config.ts';

const config = loadRedirectConfig();
const app = await buildRedirectApp(config, { log: createLogger('redirect', 'silent') });
const fastify = Fastify({ logger: false });
fastify.all('/*', (req, reply) => {
  reply.hijack();
  app.handler(req.raw, reply.raw);
});
await fastify.listen({ port: 0, host: '127.0.0.1' });
const addr = fastify.server.address();
console.log(`LISTENING ${typeof addr === 'object' && addr ? addr.port : 0}`);
process.on('SIGTERM', () => {
  const cpu = process.cpuUsage();
  console.log(`"cpuUs":${cpu.user + cpu.system}`);
  void fastify.close().then(() => app.close()).then(() => process.exit(0));
});
