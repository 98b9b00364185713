import type { FastifyBaseLogger } from 'fastify';
import type { Pool } from '@linkport/common';
import type { Config } from '../config.ts';
import type { Storage } from '../storage/storage.ts';

/** What the media services need; built once in app.ts, handed to routes and the expiry job. */
export interface MediaDeps {
  db: Pool;
  storage: Storage;
  config: Config;
}

export type Log = FastifyBaseLogger;
