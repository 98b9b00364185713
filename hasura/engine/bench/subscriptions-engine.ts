/**
 * The engine process of bench:subscriptions (bench/subscriptions.ts starts it, so the engine's CPU
 * and memory are measured apart from the WebSocket clients): the real app on a loopback port,
 * the links metadata in place (or the project's: BENCH_KEEP_METADATA); prints `port <n>` when listening, exits on SIGTERM. Every query a
 * pool runs is counted by the pool's application_name and sent to the parent on request (IPC):
 * the live pool's count is the statements subscriptions cost.
 */
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { buildApp } from '../src/app.ts';
import { loadEngineConfig } from '../src/config.ts';
import { linksMetadata } from '../test/query/fixtures.ts';

const counts: Record<string, number> = {};
const query = pg.Pool.prototype.query;
pg.Pool.prototype.query = function (this: pg.Pool, ...args: unknown[]) {
  const name = (this as unknown as { options: { application_name?: string } }).options.application_name ?? 'other';
  counts[name] = (counts[name] ?? 0) + 1;
  return (query as (...a: unknown[]) => unknown).apply(this, args);
} as typeof query;
process.on('message', () => process.send?.(counts));

const app = await buildApp(loadEngineConfig({ ...process.env, LOG_LEVEL: 'silent' } as Record<string, string>));
// BENCH_KEEP_METADATA=1: serve HASURA_GRAPHQL_METADATA_DIR as loaded (the project's, for the
// @cached phase: its first-party stats query); else the links test metadata.
if (process.env.BENCH_KEEP_METADATA !== '1') {
  const put = await app.inject({
    method: 'POST', url: '/v1/metadata',
    headers: { 'x-hasura-admin-secret': process.env.HASURA_GRAPHQL_ADMIN_SECRET ?? '' },
    payload: { type: 'replace_metadata', args: linksMetadata() },
  });
  if (put.statusCode !== 200) throw new Error(`replace_metadata: ${put.body}`);
}
await app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(`port ${(app.server.address() as AddressInfo).port}\n`);
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
