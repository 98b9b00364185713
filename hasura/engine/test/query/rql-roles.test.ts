/**
 * /v1/query data queries from a role other than admin (Hasura's RQL takes the UserInfo: DML/*.hs):
 * they run under the role's permissions, other commands stay admin only, and an error's
 * `internal` (statement, PostgreSQL detail) reaches the admin only.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildTestApp, post } from '../http/helper.ts';

const USER = { 'x-hasura-role': 'user', 'x-hasura-user-id': '1' };

void test('RQL for a role: permissions apply, metadata commands refused, internal for the admin only', async (t) => {
  const { app } = await buildTestApp(t, { fake: false });
  const setup = await post(app, '/v1/query', {
    type: 'bulk',
    args: [
      {
        type: 'run_sql',
        args: {
          sql: `CREATE TABLE note (id serial PRIMARY KEY, owner int NOT NULL, body text NOT NULL, secret text);
                INSERT INTO note (owner, body, secret) VALUES (1, 'mine', 's1'), (2, 'theirs', 's2');
                CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW.body = 'boom' THEN RAISE EXCEPTION 'no boom'; END IF; RETURN NEW; END $$;
                CREATE TRIGGER refuse BEFORE INSERT ON note FOR EACH ROW EXECUTE FUNCTION refuse();`,
        },
      },
      { type: 'track_table', args: { name: 'note' } },
      { type: 'create_select_permission', args: { table: 'note', role: 'user', permission: { columns: ['id', 'owner', 'body'], filter: { owner: 'X-Hasura-User-Id' }, limit: 10 } } },
      { type: 'create_insert_permission', args: { table: 'note', role: 'user', permission: { columns: ['body'], check: { owner: 'X-Hasura-User-Id' }, set: { owner: 'X-Hasura-User-Id' } } } },
    ],
  });
  assert.equal(setup.status, 200, JSON.stringify(setup.body));

  // `*` is the permitted columns, rows are the permitted rows.
  const sel = await post(app, '/v1/query', { type: 'select', args: { table: 'note', columns: ['*'] } }, USER);
  assert.deepEqual([sel.status, sel.body], [200, [{ id: 1, owner: 1, body: 'mine' }]]);
  const hidden = await post(app, '/v1/query', { type: 'select', args: { table: 'note', columns: ['id', 'secret'] } }, USER);
  assert.deepEqual([hidden.status, hidden.body], [400, { path: '$.args.columns[1]', error: 'role "user" does not have permission to select column "secret"', code: 'permission-denied' }]);
  const count = await post(app, '/v1/query', { type: 'count', args: { table: 'note' } }, USER);
  assert.deepEqual(count.body, { count: 1 });

  // Presets win; the row lands with the session's owner.
  const ins = await post(app, '/v1/query', { type: 'insert', args: { table: 'note', objects: [{ body: 'new' }], returning: ['owner', 'body'] } }, USER);
  assert.deepEqual([ins.status, ins.body], [200, { affected_rows: 1, returning: [{ owner: 1, body: 'new' }] }]);
  const noDelete = await post(app, '/v1/query', { type: 'delete', args: { table: 'note', where: {} } }, USER);
  assert.deepEqual([noDelete.status, noDelete.body], [400, { path: '$.args', error: 'delete on "note" for role "user" is not allowed. ', code: 'permission-denied' }]);

  // Not a data query: admin only, whatever the shape.
  for (const body of [{ type: 'run_sql', args: { sql: 'SELECT 1' } }, { type: 'bulk', args: [{ type: 'select', args: { table: 'note', columns: ['id'] } }, { type: 'track_table', args: { name: 'x' } }] }]) {
    const r = await post(app, '/v1/query', body, USER);
    assert.deepEqual([r.status, r.body.code], [400, 'access-denied']);
  }
  assert.equal((await post(app, '/v1/metadata', { type: 'export_metadata', args: {} }, USER)).body.code, 'access-denied');

  // The same PostgreSQL error: the admin sees the statement, the role does not.
  const asRole = await post(app, '/v1/query', { type: 'insert', args: { table: 'note', objects: [{ body: 'boom' }] } }, USER);
  assert.equal(asRole.status, 400);
  assert.deepEqual(asRole.body, { path: '$', error: 'no boom', code: 'unexpected' });
  const asAdmin = await post(app, '/v1/query', { type: 'insert', args: { table: 'note', objects: [{ owner: 1, body: 'boom' }] } });
  assert.equal(asAdmin.body.error, 'no boom');
  assert.equal(asAdmin.body.internal?.error?.message, 'no boom');
});
