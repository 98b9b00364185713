import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLogger, createPool } from '@linkport/common';
import { maintainPartitions } from '../src/worker/partitions.ts';
import { setup } from './helper.ts';

void test('partition maintenance: months ahead exist, months past retention are dropped (as redirect_service)', async (t) => {
  const e = await setup(t);
  await e.admin.query(`SELECT links.ensure_click_partitions(now() - interval '8 months', 1)`);
  const old = new Date();
  old.setUTCMonth(old.getUTCMonth() - 8, 1);
  const oldName = `clicks_${old.getUTCFullYear()}_${String(old.getUTCMonth() + 1).padStart(2, '0')}`;
  const parts = async () =>
    (await e.admin.query<{ relname: string }>(`SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'links.clicks'::regclass`)).rows.map((r) => r.relname);
  assert.ok((await parts()).includes(oldName));
  const pool = createPool(e.db.roleUrl('redirect_service'), { max: 1 });
  t.after(() => pool.end());
  await maintainPartitions(pool, 6, createLogger('test', 'silent'));
  const after = await parts();
  assert.ok(!after.includes(oldName), 'the 8-month-old partition is gone');
  const ahead = new Date();
  ahead.setUTCMonth(ahead.getUTCMonth() + 2, 1);
  assert.ok(after.includes(`clicks_${ahead.getUTCFullYear()}_${String(ahead.getUTCMonth() + 1).padStart(2, '0')}`));
});
