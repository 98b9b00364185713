// Click-worker healthcheck (it serves no HTTP): healthy while its consumer in the Redis Stream
// group has interacted (XREADGROUP/XAUTOCLAIM) within the last 60 s. Redis ≥ 7.2 reports `inactive`
// for that; `idle` is the fallback. Runs inside the redirect image, where ioredis is installed.
import { Redis } from 'ioredis';

const stream = process.env.CLICK_STREAM || 'clicks';
const group = process.env.CLICK_GROUP || 'click-workers';
const name = process.env.WORKER_NAME;
const redis = new Redis(process.env.REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 2000, retryStrategy: () => null });
try {
  await redis.connect();
  const consumers = await redis.xinfo('CONSUMERS', stream, group);
  const alive = consumers.some((row) => {
    const c = {};
    for (let i = 0; i < row.length; i += 2) c[row[i]] = row[i + 1];
    const quiet = Number(c.inactive ?? c.idle);
    return (!name || c.name === name) && quiet >= 0 && quiet < 60_000;
  });
  process.exitCode = alive ? 0 : 1;
} catch {
  process.exitCode = 1;
} finally {
  redis.disconnect();
}
