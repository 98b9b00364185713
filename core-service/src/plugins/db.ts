import type { FastifyInstance } from 'fastify';
import { createPool, type Pool } from '@linkport/common';
import type { Config } from '../config.ts';

/** The pool of the `core_service` role; ended when the app closes (after in-flight requests drain). */
export function dbPlugin(app: FastifyInstance, config: Config): Pool {
  const pool = createPool(config.DATABASE_URL, { applicationName: 'core-service', max: 10 });
  app.addHook('onClose', async () => {
    await pool.end();
  });
  return pool;
}
