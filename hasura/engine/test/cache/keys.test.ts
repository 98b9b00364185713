/**
 * The @cached key's session part (rest/serving.ts sessionVarsOf, cache/cache.ts keys): the
 * variables a role's permissions read — its own, its inherited roles' constituents', or the
 * whole session when a function gets it (`session_argument`) — so two users never share an entry
 * their permissions tell apart.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'graphql';
import type { Metadata } from '../../src/contract.ts';
import { buildServing } from '../../src/rest/serving.ts';
import { QueryCache } from '../../src/cache/cache.ts';

const md = (extra: Partial<Metadata> = {}): Metadata => ({
  version: 3,
  sources: [{
    name: 'default', kind: 'postgres', configuration: {},
    tables: [
      { table: { schema: 'public', name: 'a' }, select_permissions: [{ role: 'user', permission: { columns: '*', filter: { owner: { _eq: 'X-Hasura-User-Id' } } } }] },
      { table: { schema: 'public', name: 'b' }, select_permissions: [{ role: 'team', permission: { columns: '*', filter: { team: { _in: 'x-hasura-team-ids' } } } }] },
    ],
  }],
  ...extra,
});

void test('session variables per role: own permissions, inherited roles, whole session with session_argument', () => {
  const s = buildServing(md({ inherited_roles: [{ role_name: 'member', role_set: ['user', 'team'] }, { role_name: 'outer', role_set: ['member'] }] }));
  assert.deepEqual(s.sessionVarsOf('user'), ['x-hasura-user-id']);
  assert.deepEqual(s.sessionVarsOf('team'), ['x-hasura-team-ids']);
  assert.deepEqual(s.sessionVarsOf('member'), ['x-hasura-team-ids', 'x-hasura-user-id']);
  assert.deepEqual(s.sessionVarsOf('outer'), ['x-hasura-team-ids', 'x-hasura-user-id']);
  assert.deepEqual(s.sessionVarsOf('nobody'), []);
  const withFn = md();
  withFn.sources[0]!.functions = [{ function: { schema: 'public', name: 'f' }, configuration: { session_argument: 'hasura_session' } }];
  assert.deepEqual(buildServing(withFn).sessionVarsOf('user'), ['*']);
});

void test('cache keys: users of an inherited role differ; unrelated session variables do not split entries', () => {
  const serving = buildServing(md({ inherited_roles: [{ role_name: 'member', role_set: ['user', 'team'] }] }));
  const cache = new QueryCache({ maxTtlSeconds: 60, serving: () => serving });
  const req = { query: 'query @cached { a { id } }', variables: {} };
  const doc = parse(req.query);
  const key = (vars: Record<string, string>, role = 'member') => cache.keys(req, { role, vars, isAdmin: false }, doc).key;
  assert.notEqual(key({ 'x-hasura-user-id': '1' }), key({ 'x-hasura-user-id': '2' }));
  assert.notEqual(key({ 'x-hasura-user-id': '1', 'x-hasura-team-ids': '{1}' }), key({ 'x-hasura-user-id': '1', 'x-hasura-team-ids': '{2}' }));
  assert.equal(key({ 'x-hasura-user-id': '1', 'x-hasura-locale': 'fr' }), key({ 'x-hasura-user-id': '1', 'x-hasura-locale': 'de' }));
  assert.notEqual(key({ 'x-hasura-user-id': '1' }, 'user'), key({ 'x-hasura-user-id': '1' }, 'member'), 'the role is part of the key');
  // Variables in any key order are the same entry.
  const k = (variables: Record<string, unknown>) => cache.keys({ ...req, variables }, { role: 'user', vars: {}, isAdmin: false }, doc).key;
  assert.equal(k({ a: 1, b: { c: 2, d: 3 } }), k({ b: { d: 3, c: 2 }, a: 1 }));
});
