/**
 * The click consumer's read-ahead: the next batch is read while the current one is written. A read
 * that fails meanwhile (its Redis node killed, the group destroyed) must come back as a retried
 * batch, not as an unhandled rejection that ends the worker — the kill test's surviving worker died
 * so (exit 70) when a Redis master was killed, and 30,594 clicks waited in Redis with no consumer.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLogger, createRedis } from '@linkport/common';
import { startRedisServer } from '@linkport/devstack';
import { clickFields } from '../src/clicks/click.ts';
import { ClickConsumer, type BatchSink } from '../src/worker/consumer.ts';
import type { EnrichedClick } from '../src/worker/enrich.ts';

void test('a read-ahead that fails while a batch is being written is retried, never an unhandled rejection', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lp-consumer-'));
  const server = await startRedisServer({ dir });
  t.after(async () => {
    await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const unhandled: unknown[] = [];
  const onUnhandled = (err: unknown) => unhandled.push(err);
  process.on('unhandledRejection', onUnhandled);
  t.after(() => process.off('unhandledRejection', onUnhandled));

  const redis = createRedis(server.url, { maxRetriesPerRequest: null });
  t.after(() => redis.disconnect());
  const stream = 'clicks-test';
  const click = (i: number) => clickFields({ id: `c${i}`, linkId: '00000000-0000-4000-8000-000000000001', code: 'abc', ts: Date.now(), visitor: 'v', ua: 'ua', referrer: '', country: 'DE' });
  for (let i = 0; i < 3; i++) await redis.xadd(stream, '*', ...click(i));

  const written: string[] = [];
  let release: (() => void) | undefined;
  let entered: (() => void) | undefined;
  const inWrite = new Promise<void>((r) => (entered = r));
  const sink: BatchSink = {
    async write(batch: EnrichedClick[]) {
      if (written.length === 0) {
        entered?.();
        // held until the read-ahead has failed (below)
        await new Promise<void>((r) => (release = r));
      }
      written.push(...batch.map((c) => c.id));
      return { inserted: batch.length, counted: batch.length };
    },
  };
  const consumer = new ClickConsumer(redis, sink, createLogger('test', 'silent'), {
    stream, deadStream: `${stream}:dead`, group: 'g', consumer: 'w1', batch: 100, blockMs: 500, claimIdleMs: 60_000, maxDeliveries: 5,
  });
  await consumer.start();
  await inWrite;
  // the read-ahead is blocked on the group; destroying the group fails it ("UNBLOCKED … no longer
  // exists" or NOGROUP) while the first batch is still being written
  await new Promise((r) => setTimeout(r, 200));
  await redis.xgroup('DESTROY', stream, 'g');
  await new Promise((r) => setTimeout(r, 300));
  release?.();
  // the consumer recreates the group (NOGROUP) and goes on: a new click is consumed
  await redis.xadd(stream, '*', ...click(99));
  const deadline = Date.now() + 10_000;
  while (!written.includes('c99') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  await consumer.stop();
  assert.deepEqual(unhandled.map(String), [], 'no unhandled rejection');
  assert.ok(written.includes('c0') && written.includes('c99'), `consumed after the failure: ${written.join(',')}`);
});
