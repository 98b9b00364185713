import type { FastifyInstance } from 'fastify';
import { createPool, type Pool } from '@linkport/common';
import type { Config } from '../config.ts';

/** The media_service role's pool; closed after in-flight requests drain (onClose). */
export function dbPlugin(app: FastifyInstance, config: Config): Pool {
  const pool = createPool(config.DATABASE_URL, { applicationName: 'media-service', max: config.DATABASE_POOL_MAX });
  app.addHook('onClose', async () => {
    await pool.end();
  });
  return pool;
}
