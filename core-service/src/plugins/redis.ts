import type { FastifyInstance } from 'fastify';
import { createRedis, type Redis } from '@linkport/common';
import type { Config } from '../config.ts';

/** Lazily connected, so building the app (OpenAPI generation, tests) needs no running Redis. */
export function redisPlugin(app: FastifyInstance, config: Config): Redis {
  const redis = createRedis(config.REDIS_URL, { lazyConnect: true });
  redis.on('error', (err) => app.log.warn({ err }, 'redis error'));
  app.addHook('onClose', async () => {
    // Never connected (status "wait"): quitting would connect first just to say goodbye.
    if (redis.status === 'wait') redis.disconnect();
    else await redis.quit().catch(() => redis.disconnect());
  });
  return redis;
}
