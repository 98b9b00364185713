import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setup } from './helper.ts';

/**
 * First path segments the gateway answers itself (gateway/dynamic/*.yml: every API router is under
 * `/v1/`; gateway/src/app.ts answers `/ping`) and Traefik's internal routers (`/api`, `/dashboard`,
 * `/debug`, `/metrics`). Listed here rather than read from the gateway's files: workspaces do not
 * read each other's files. Codes shorter than 3 characters (`v1`) are refused by the format rule.
 */
const GATEWAY_SEGMENTS = ['ping', 'api', 'dashboard', 'debug', 'metrics', 'health', 'healthz', 'livez', 'readyz'];

void test('a link code may not be a gateway path: insert of `ping` is refused with a clear error', async (t) => {
  const e = await setup(t);
  await assert.rejects(e.newLink({ code: 'ping' }), (err: Error & { code?: string; constraint?: string }) => {
    assert.equal(err.code, '23514');
    assert.equal(err.constraint, 'code_not_reserved');
    assert.equal(err.message, 'short code "ping" is reserved');
    return true;
  });
  for (const code of [...GATEWAY_SEGMENTS, 'PING', 'Dashboard']) {
    await assert.rejects(e.newLink({ code }), { code: '23514', constraint: 'code_not_reserved' }, code);
  }
  await assert.rejects(e.newLink({ code: 'v1' }), { code: '23514', constraint: 'code_format' });
  // Renaming onto a reserved code is refused as well; near misses stay allowed.
  const l = await e.newLink({ code: 'pinged' });
  await assert.rejects(e.admin.query(`UPDATE links.links SET code = 'ping' WHERE id = $1`, [l.id]), { constraint: 'code_not_reserved' });
  assert.equal((await e.newLink({ code: 'ping-pong' })).code, 'ping-pong');
});
