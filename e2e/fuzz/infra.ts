import fs from 'node:fs';
import path from 'node:path';
import { reachableDataDir, startEmbeddedPostgres, startRedisServer, type RunningPostgres, type RunningRedis } from '@linkport/devstack';
import type { RunningStack } from '@linkport/launcher';
import { pidAlive } from '@linkport/launcher';

/**
 * Real outages of the launcher's PostgreSQL and Redis (the launcher offers no restart of an infra
 * part): stop the server the way an operator or a crash would, then start it again on the same
 * port with the same data — the same binaries and arguments the launcher used
 * (launcher/src/infra.ts startPostgres/startRedis). The restarted servers belong to the caller,
 * who stops them after the stack (whose own handles then point at exited processes: no-ops).
 */

export const alive = pidAlive;

async function waitGone(pid: number, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (alive(pid)) {
    if (Date.now() > deadline) throw new Error(`${what} (pid ${pid}) did not stop within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export class InfraControl {
  private pgPid: number;
  private redisPid: number;
  private ownPg: RunningPostgres | undefined;
  private ownRedis: RunningRedis | undefined;

  constructor(private readonly stack: RunningStack) {
    const pg = stack.pids.postgres;
    const redis = stack.pids.redis;
    if (!pg || !redis) throw new Error('the stack runs no embedded PostgreSQL/Redis (DATABASE_URL or REDIS_URL set?)');
    this.pgPid = pg;
    this.redisPid = redis;
  }

  /** PostgreSQL's fast shutdown (SIGINT: every session ends with 57P01, a checkpoint, exit). */
  async stopPostgres(): Promise<void> {
    if (this.ownPg) await this.ownPg.stop();
    else process.kill(this.pgPid, 'SIGINT');
    await waitGone(this.pgPid, 'PostgreSQL');
  }

  async startPostgres(): Promise<void> {
    const port = Number(new URL(this.stack.endpoints.databaseUrl).port);
    this.ownPg = await startEmbeddedPostgres({ dataDir: reachableDataDir(path.join(this.stack.dataDir, 'pg')), port, password: 'postgres', persistent: true });
    this.pgPid = this.ownPg.pid;
  }

  /** SIGTERM: redis-server fsyncs its AOF and exits (what the launcher's own stop does). */
  async stopRedis(): Promise<void> {
    if (this.ownRedis) await this.ownRedis.stop();
    else process.kill(this.redisPid, 'SIGTERM');
    await waitGone(this.redisPid, 'redis-server');
  }

  async startRedis(): Promise<void> {
    const port = Number(new URL(this.stack.endpoints.redisUrl).port);
    this.ownRedis = await startRedisServer({ dir: path.join(this.stack.dataDir, 'redis'), port, appendonly: true });
    this.redisPid = this.ownRedis.process.pid ?? -1;
  }

  /** After the stack has stopped: the servers this control started. */
  async stop(): Promise<void> {
    await this.ownRedis?.stop().catch(() => {});
    await this.ownPg?.stop().catch(() => {});
  }
}
