/**
 * Inherited roles (docs auth/authorization/inherited-roles.mdx; RQL/Types/Roles/Internal.hs
 * `CombinedSelPermInfo`): the union of the parents' select permissions, a field granted by only
 * some parents read as null on rows only the others can see (in selections and aggregates), the
 * largest limit, an explicit permission overriding the inherited one, parents that are inherited
 * roles themselves, mutation permissions inherited only when the parents agree, and a cycle
 * refused with Hasura's text (not breaking the API). Upstream's cases run in the
 * conformance suite (graphql_query/permissions/{inherited_roles,roles_inheritance}).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildTestApp, post } from '../http/helper.ts';

const schemaSql = `
  CREATE TABLE employee (id int PRIMARY KEY, name text NOT NULL, salary int, manager_id int, remarks text);
  INSERT INTO employee VALUES (1, 'Ann', 100, 10, 'good'), (2, 'Bob', 200, 10, 'late'), (3, 'Cy', 300, 20, 'ok');
  CREATE FUNCTION yearly(e employee) RETURNS int AS $$ SELECT e.salary * 12 $$ LANGUAGE sql STABLE;
`;

const sel = (role: string, permission: Record<string, unknown>) => ({ type: 'create_select_permission', args: { table: 'employee', role, permission } });

void test('inherited roles: union of permissions, redacted fields, limits, overrides, nesting, mutations, cycles', async (t) => {
  const { app } = await buildTestApp(t, { fake: false });
  const setup = await post(app, '/v1/query', {
    type: 'bulk',
    args: [
      { type: 'run_sql', args: { sql: schemaSql } },
      { type: 'track_table', args: 'employee' },
      { type: 'add_computed_field', args: { table: 'employee', name: 'yearly', definition: { function: 'yearly' } } },
      // `self` sees its own row with the salary; `boss` sees its reports' names and remarks, 1 row at most.
      sel('self', { columns: ['id', 'name', 'salary'], computed_fields: ['yearly'], filter: { id: 'X-Hasura-User-Id' }, limit: 5 }),
      sel('boss', { columns: ['name', 'remarks'], filter: { manager_id: 'X-Hasura-Manager-Id' }, allow_aggregations: true, limit: 1 }),
      sel('all', { columns: ['name'], filter: {} }),
      { type: 'create_update_permission', args: { table: 'employee', role: 'self', permission: { columns: ['name'], filter: { id: 'X-Hasura-User-Id' } } } },
      { type: 'create_update_permission', args: { table: 'employee', role: 'boss', permission: { columns: ['name'], filter: { id: 'X-Hasura-User-Id' } } } },
      { type: 'create_delete_permission', args: { table: 'employee', role: 'self', permission: { filter: { id: 'X-Hasura-User-Id' } } } },
      { type: 'create_delete_permission', args: { table: 'employee', role: 'boss', permission: { filter: { manager_id: 'X-Hasura-Manager-Id' } } } },
      { type: 'add_inherited_role', args: { role_name: 'both', role_set: ['self', 'boss'] } },
      { type: 'add_inherited_role', args: { role_name: 'overridden', role_set: ['self', 'boss'] } },
      sel('overridden', { columns: ['id'], filter: { id: { _eq: 3 } } }),
      { type: 'add_inherited_role', args: { role_name: 'nested', role_set: ['both', 'all'] } },
    ],
  });
  assert.equal(setup.status, 200, JSON.stringify(setup.body));
  const h = { 'x-hasura-user-id': '1', 'x-hasura-manager-id': '10' };
  const gql = async (query: string, role: string) => (await post(app, '/v1/graphql', { query }, { ...h, 'x-hasura-role': role })).body;

  // Rows: Ann (self and boss), Bob (boss only). salary/id/yearly are self's only, remarks boss's only.
  const both = await gql('{ employee(order_by: {name: asc}) { id name salary yearly remarks } }', 'both');
  assert.deepEqual(both.data.employee, [
    { id: 1, name: 'Ann', salary: 100, yearly: 1200, remarks: 'good' },
    { id: null, name: 'Bob', salary: null, yearly: null, remarks: 'late' },
  ], JSON.stringify(both));
  // Aggregations allowed because one parent allows them; Bob's salary is not summed.
  const agg = await gql('{ employee_aggregate { aggregate { count sum { salary } } } }', 'both');
  assert.deepEqual(agg.data.employee_aggregate.aggregate, { count: 2, sum: { salary: 100 } });
  // The largest of the parents' limits (5, not 1).
  const limited = await gql('{ employee { name } }', 'both');
  assert.equal(limited.data.employee.length, 2);
  // Filters and orderings read the redacted value too (withRedactionExp in where and order_by):
  // Bob's salary (200) is visible to `self` only on Ann's row, so `both` can neither filter on it
  // nor order by it to learn it. Without redaction `salary > 150` would return Bob (name visible).
  const filtered = await gql('{ employee(where: {salary: {_gt: 150}}) { name } }', 'both');
  assert.deepEqual(filtered.data.employee, [], JSON.stringify(filtered));
  const nulls = await gql('{ employee(where: {salary: {_is_null: true}}) { name } }', 'both');
  assert.deepEqual(nulls.data.employee, [{ name: 'Bob' }]);
  const byYearly = await gql('{ employee(where: {yearly: {_gte: 2000}}) { name } }', 'both');
  assert.deepEqual(byYearly.data.employee, []);
  // Ordered by salary desc, nulls first: Bob's hidden salary sorts as null, not as 200 > 100.
  const ordered = await gql('{ employee(order_by: [{salary: desc_nulls_last}, {name: desc}]) { name } }', 'both');
  assert.deepEqual(ordered.data.employee.map((e: { name: string }) => e.name), ['Ann', 'Bob']);
  const orderedCf = await gql('{ employee(order_by: [{yearly: asc_nulls_first}, {name: asc}]) { name } }', 'both');
  assert.deepEqual(orderedCf.data.employee.map((e: { name: string }) => e.name), ['Bob', 'Ann']);
  // A role with its own permission filters on the column as is.
  const own = await gql('{ employee(where: {salary: {_gt: 50}}) { name } }', 'self');
  assert.deepEqual(own.data.employee, [{ name: 'Ann' }]);

  // A column neither parent grants does not exist for the inherited role.
  const none = await gql('{ employee { manager_id } }', 'both');
  assert.equal(none.errors[0].message, "field 'manager_id' not found in type: 'employee'");

  // An explicit permission replaces the inherited one.
  const over = await gql('{ employee { id } }', 'overridden');
  assert.deepEqual(over.data.employee, [{ id: 3 }]);
  const overName = await gql('{ employee { name } }', 'overridden');
  assert.equal(overName.errors[0].extensions.code, 'validation-failed');

  // An inherited role over an inherited role: `all` sees every name, the rest as for `both`.
  const nested = await gql('{ employee(order_by: {name: asc}) { name salary remarks } }', 'nested');
  assert.deepEqual(nested.data.employee, [
    { name: 'Ann', salary: 100, remarks: 'good' },
    { name: 'Bob', salary: null, remarks: 'late' },
    { name: 'Cy', salary: null, remarks: null },
  ]);

  // Same update permission in both parents: inherited. Different delete permissions: none.
  const upd = await gql('mutation { update_employee(where: {}, _set: {name: "Anna"}) { affected_rows } }', 'both');
  assert.deepEqual(upd.data, { update_employee: { affected_rows: 1 } });
  const del = await gql('mutation { delete_employee(where: {}) { affected_rows } }', 'both');
  assert.equal(del.errors[0].extensions.code, 'validation-failed', JSON.stringify(del));

  // A cycle is refused as Hasura refuses it (Schema/Cache/Permission.hs `orderRoles`; upstream
  // test_throw_error_when_roles_form_a_cycle), nothing of the request applies, and every role keeps working.
  const cyc = await post(app, '/v1/query', {
    type: 'bulk',
    args: [
      { type: 'add_inherited_role', args: { role_name: 'c2', role_set: ['c3', 'boss'] } },
      { type: 'add_inherited_role', args: { role_name: 'c3', role_set: ['self', 'c1'] } },
      { type: 'add_inherited_role', args: { role_name: 'c1', role_set: ['c2', 'self'] } },
    ],
  });
  assert.equal(cyc.status, 400, JSON.stringify(cyc.body));
  assert.deepEqual(cyc.body, { path: '$.args', error: 'found cycle(s) in roles: ["c1","c2","c3","c1"]', code: 'cyclic-dependency' });
  const c1 = await gql('{ employee { name } }', 'c1');
  assert.match(c1.errors[0].message, /field 'employee' not found in type: 'query_root'/);
  const still = await gql('{ employee(order_by: {name: asc}) { name } }', 'both');
  assert.deepEqual(still.data.employee, [{ name: 'Anna' }, { name: 'Bob' }]);
});
