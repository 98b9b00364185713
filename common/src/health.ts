import type { FastifyInstance } from 'fastify';

export interface ReadinessCheck {
  name: string;
  check: () => Promise<unknown>;
}

/**
 * `/health/live` answers while the process runs; `/health/ready` runs every dependency check and
 * answers 503 while any fails or while the app is closing (so a load balancer drains it first).
 */
// `hide` is @fastify/swagger's flag; typed loosely so common does not depend on the plugin.
const hidden = { hide: true } as Record<string, unknown>;

export function registerHealth(app: FastifyInstance, checks: ReadinessCheck[], prefix = ''): void {
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.get(`${prefix}/health/live`, { schema: hidden }, async () => ({ status: 'ok' }));
  app.get(`${prefix}/health/ready`, { schema: hidden }, async (_req, reply) => {
    if (closing) return reply.code(503).send({ status: 'closing' });
    const { ok, checks: results } = await readiness(checks);
    return reply.code(ok ? 200 : 503).send({ status: ok ? 'ok' : 'unavailable', checks: results });
  });
}

/** Every check at once, each bounded by 2 s: one slow dependency never hangs the probe. */
export async function readiness(checks: ReadinessCheck[]): Promise<{ ok: boolean; checks: Record<string, string> }> {
  const results: Record<string, string> = {};
  let ok = true;
  await Promise.all(
    checks.map(async (c) => {
      try {
        await withTimeout(c.check(), 2000);
        results[c.name] = 'ok';
      } catch {
        ok = false;
        results[c.name] = 'failing';
      }
    }),
  );
  return { ok, checks: results };
}

export async function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
