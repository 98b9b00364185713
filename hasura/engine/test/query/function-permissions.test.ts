/**
 * HASURA_GRAPHQL_INFER_FUNCTION_PERMISSIONS (docs deployment/graphql-engine-flags/reference.mdx;
 * GraphQL/Schema.hs "Note [Function Permissions]"): by default a query function is open to every
 * role that may select from its returning table; when false, only to roles given
 * `pg_create_function_permission` (upstream graphql_query/functions/permissions, whose class runs
 * with that flag off: get_articles_without_permission_configured.yaml).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildTestApp, post } from '../http/helper.ts';

const setup = {
  type: 'bulk',
  args: [
    {
      type: 'run_sql',
      args: {
        sql: `CREATE TABLE article (id int PRIMARY KEY, title text NOT NULL);
              INSERT INTO article VALUES (1, 'Tea'), (2, 'Coffee');
              CREATE FUNCTION search_articles(search text) RETURNS SETOF article AS $$
                SELECT * FROM article WHERE title ILIKE '%' || search || '%'
              $$ LANGUAGE sql STABLE;`,
      },
    },
    { type: 'track_table', args: 'article' },
    { type: 'track_function', args: { schema: 'public', name: 'search_articles' } },
    { type: 'create_select_permission', args: { table: 'article', role: 'user', permission: { columns: ['id', 'title'], filter: {} } } },
  ],
};
const query = '{ search_articles(args: {search: "tea"}) { id title } }';
const user = { 'x-hasura-role': 'user' };

for (const infer of [true, false]) {
  void test(`query functions with HASURA_GRAPHQL_INFER_FUNCTION_PERMISSIONS=${infer}`, async (t) => {
    const { app } = await buildTestApp(t, { fake: false, env: { HASURA_GRAPHQL_INFER_FUNCTION_PERMISSIONS: String(infer) } });
    const s = await post(app, '/v1/query', setup);
    assert.equal(s.status, 200, JSON.stringify(s.body));
    const before = (await post(app, '/v1/graphql', { query }, user)).body;
    if (infer) assert.deepEqual(before, { data: { search_articles: [{ id: 1, title: 'Tea' }] } });
    else {
      assert.deepEqual(before, {
        errors: [{ extensions: { path: '$.selectionSet.search_articles', code: 'validation-failed' }, message: "field 'search_articles' not found in type: 'query_root'" }],
      });
    }
    // Admin always has it; a function permission opens it to the role either way.
    assert.deepEqual((await post(app, '/v1/graphql', { query })).body, { data: { search_articles: [{ id: 1, title: 'Tea' }] } });
    const p = await post(app, '/v1/metadata', { type: 'pg_create_function_permission', args: { function: 'search_articles', role: 'user' } });
    assert.equal(p.status, 200, JSON.stringify(p.body));
    assert.deepEqual((await post(app, '/v1/graphql', { query }, user)).body, { data: { search_articles: [{ id: 1, title: 'Tea' }] } });
  });
}
