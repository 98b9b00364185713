/**
 * PostGIS through GraphQL (docs/research/hasura-v2.md §A.2; Hasura's comparisonExps "Ops for
 * Geometry/Geography type", GeoJSON.hs): GeoJSON in (checked, then ST_GeomFromGeoJSON) and out
 * (ST_AsGeoJSON with the long CRS), every `_st_*` operator on a data set where each one selects a
 * different set of rows, `_cast` both ways, and PostGIS in a permission filter with session
 * variables. Upstream's own cases run in the conformance suite (graphql_query/boolexp/postgis,
 * v1/select/boolexp/postgis, graphql_mutation/insert/geojson).
 *
 * The database tests need a server with PostGIS (Debian `postgresql-15-postgis-3`, pointed to by
 * LINKPORT_TEST_PG_URL); the embedded PostgreSQL has none, and they then skip saying so. The GeoJSON
 * checks need no database and always run.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import type { FastifyInstance } from 'fastify';
import { buildTestApp, post } from '../http/helper.ts';
import { startLocalCluster } from '../../conformance/local.ts';
import { buildApp } from '../../src/app.ts';
import { loadEngineConfig } from '../../src/config.ts';
import { parseGeoJson } from '../../src/schema/geojson.ts';
import { QErr } from '../../src/errors.ts';

void test('GeoJSON input: Hasura GeoJSON.hs checks and normalisation', () => {
  const refuse = (v: unknown, message: string) =>
    assert.throws(() => parseGeoJson(v), (e: unknown) => e instanceof QErr && e.code === 'parse-failed' && e.message === message);
  refuse({ type: 'Point', coordinates: [1] }, 'A Position needs at least 2 elements');
  refuse({ type: 'LineString', coordinates: [[1, 2]] }, 'A LineString needs at least 2 Positions');
  refuse({ type: 'Polygon', coordinates: [[[0, 0], [1, 1], [0, 0]]] }, 'A LinearRing needs at least 4 Positions');
  refuse({ type: 'Polygon', coordinates: [[[0, 0], [0, 1], [1, 1], [1, 0]]] }, 'the first and last locations have to be equal for a LinearRing');
  refuse({ type: 'Random', coordinates: [1, 2] }, 'unexpected geometry type: Random');
  refuse({ coordinates: [1, 2] }, 'key "type" not found');
  refuse('POINT(1 2)', 'parsing Geometry failed, expected Object, but encountered String');
  refuse({ type: 'Point', coordinates: [1, 'x'] }, 'parsing Double failed, expected Number, but encountered String');
  refuse({ type: 'Point', coordinates: [1, 2], crs: { type: 'bogus', properties: {} } }, 'unexpected CRS type: bogus');
  // A fourth coordinate and unknown keys are dropped, as Hasura re-encodes what it parsed.
  assert.deepEqual(parseGeoJson({ type: 'Point', coordinates: [1, 2, 3, 4], bbox: [0], crs: { type: 'name', properties: { name: 'EPSG:4326', x: 1 } } }),
    { type: 'Point', coordinates: [1, 2, 3], crs: { type: 'name', properties: { name: 'EPSG:4326' } } });
  assert.deepEqual(parseGeoJson({ type: 'GeometryCollection', geometries: [{ type: 'MultiPoint', coordinates: [[1, 2]] }] }),
    { type: 'GeometryCollection', geometries: [{ type: 'MultiPoint', coordinates: [[1, 2]] }] });
});

/**
 * The engine on a database with PostGIS: the test cluster's when it has the extension, else a
 * PostgreSQL 15 cluster of Debian's binaries with postgresql-15-postgis-3 (the one the conformance
 * test starts: conformance/local.ts), else why neither is there.
 */
async function postgisApp(t: TestContext): Promise<FastifyInstance | string> {
  const { app, db } = await buildTestApp(t, { fake: false });
  if (await hasPostgis(db.adminUrl)) return app;
  const cluster = await startLocalCluster({ postgis: true });
  if (!cluster.postgisUrl) {
    await cluster.stop();
    return cluster.postgisMissing ?? 'no PostgreSQL with PostGIS here (install Debian postgresql-15-postgis-3)';
  }
  const gisDb = await cluster.newDatabase();
  const gisApp = await buildApp(loadEngineConfig({ HASURA_GRAPHQL_DATABASE_URL: gisDb.adminUrl, LOG_LEVEL: 'silent' }));
  t.after(async () => {
    await gisApp.close();
    await cluster.stop();
  });
  return gisApp;
}

async function hasPostgis(url: string): Promise<boolean> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return ((await c.query("SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'")).rowCount ?? 0) > 0;
  } finally {
    await c.end();
  }
}

const schemaSql = `
  CREATE EXTENSION IF NOT EXISTS postgis;
  CREATE TABLE shapes (id int PRIMARY KEY, name text NOT NULL, g geometry NOT NULL);
  INSERT INTO shapes VALUES
    (1, 'square',     ST_GeomFromEWKT('SRID=4326;POLYGON((0 0,0 2,2 2,2 0,0 0))')),
    (2, 'inner',      ST_GeomFromEWKT('SRID=4326;POINT(1 1)')),
    (3, 'across',     ST_GeomFromEWKT('SRID=4326;LINESTRING(-1 1,3 1)')),
    (4, 'far',        ST_GeomFromEWKT('SRID=4326;POINT(10 10)')),
    (5, 'touching',   ST_GeomFromEWKT('SRID=4326;POLYGON((2 0,2 2,4 2,4 0,2 0))')),
    (6, 'overlapping', ST_GeomFromEWKT('SRID=4326;POLYGON((1 1,1 3,3 3,3 1,1 1))'));
  CREATE TABLE pts3d (id int PRIMARY KEY, g geometry NOT NULL);
  INSERT INTO pts3d VALUES (1, 'SRID=4326;POINT Z (1 1 10)'), (2, 'SRID=4326;POINT Z (1 1 0)');
  CREATE TABLE city (id int PRIMARY KEY, name text NOT NULL, at geography NOT NULL, at_geom geometry NOT NULL);
  INSERT INTO city VALUES
    (1, 'London', 'SRID=4326;POINT(0.1278 51.5074)', 'SRID=4326;POINT(0.1278 51.5074)'),
    (2, 'Paris', 'SRID=4326;POINT(2.3522 48.8566)', 'SRID=4326;POINT(2.3522 48.8566)'),
    (3, 'New York', 'SRID=4326;POINT(-74.006 40.7128)', 'SRID=4326;POINT(-74.006 40.7128)');
`;

const SQUARE = { type: 'Polygon', coordinates: [[[0, 0], [0, 2], [2, 2], [2, 0], [0, 0]]], crs: { type: 'name', properties: { name: 'EPSG:4326' } } };
const at = (x: number, y: number) => ({ type: 'Point', coordinates: [x, y], crs: { type: 'name', properties: { name: 'EPSG:4326' } } });

void test('PostGIS: GeoJSON in and out, every _st_* operator, _cast, permissions', async (t) => {
  const app = await postgisApp(t);
  if (typeof app === 'string') {
    // npm test sets LINKPORT_REQUIRE_POSTGIS=1 once Debian's package is installed: then no skip.
    assert.notEqual(process.env.LINKPORT_REQUIRE_POSTGIS, '1', `LINKPORT_REQUIRE_POSTGIS=1 but: ${app}`);
    t.skip(app);
    return;
  }
  const setup = await post(app, '/v1/query', {
    type: 'bulk',
    args: [
      { type: 'run_sql', args: { sql: schemaSql } },
      { type: 'track_table', args: 'shapes' },
      { type: 'track_table', args: 'pts3d' },
      { type: 'track_table', args: 'city' },
      {
        type: 'create_select_permission',
        args: { table: 'shapes', role: 'user', permission: { columns: ['id', 'g'], filter: { g: { $st_d_within: { distance: 'X-Hasura-Dist', from: 'X-Hasura-Geom' } } } } },
      },
      { type: 'create_insert_permission', args: { table: 'shapes', role: 'user', permission: { columns: ['id', 'name'], set: { g: 'X-Hasura-Geom' }, check: {} } } },
    ],
  });
  assert.equal(setup.status, 200, JSON.stringify(setup.body));
  const gql = async (query: string, variables?: unknown, headers: Record<string, string> = {}) => (await post(app, '/v1/graphql', { query, variables }, headers)).body;
  const ids = async (where: string, variables?: Record<string, unknown>, vars = variables ? '($v: geometry!)' : '') => {
    const r = await gql(`query ${vars} { shapes(where: ${where}, order_by: {id: asc}) { id } }`, variables);
    assert.ok(r.data, JSON.stringify(r));
    return r.data.shapes.map((s: { id: number }) => s.id);
  };

  // Output: ST_AsGeoJSON(…, 15, 4): the long CRS name.
  const out = await gql('{ shapes_by_pk(id: 2) { g } }');
  assert.deepEqual(out.data.shapes_by_pk.g, { type: 'Point', crs: { type: 'name', properties: { name: 'urn:ogc:def:crs:EPSG::4326' } }, coordinates: [1, 1] });

  // Each operator selects its own rows.
  const v = { v: SQUARE };
  assert.deepEqual(await ids('{g: {_st_contains: $v}}', v), [1]);
  assert.deepEqual(await ids('{g: {_st_within: $v}}', v), [1, 2]);
  assert.deepEqual(await ids('{g: {_st_crosses: $v}}', v), [3]);
  assert.deepEqual(await ids('{g: {_st_equals: $v}}', v), [1]);
  assert.deepEqual(await ids('{g: {_st_intersects: $v}}', v), [1, 2, 3, 5, 6]);
  assert.deepEqual(await ids('{g: {_st_overlaps: $v}}', v), [6]);
  assert.deepEqual(await ids('{g: {_st_touches: $v}}', v), [5]);
  assert.deepEqual(await ids('{g: {_st_d_within: {distance: 1.5, from: $v}}}', { v: at(5, 1) }), [5]);
  assert.deepEqual(await ids('{g: {_eq: $v}}', { v: at(1, 1) }), [2]);
  assert.deepEqual(await ids('{g: {_in: $v}}', { v: [at(1, 1), at(10, 10)] }, '($v: [geometry!])'), [2, 4]);
  assert.deepEqual(await ids('{_not: {g: {_st_intersects: $v}}}', v), [4]);
  // Literals parse like variables.
  assert.deepEqual(await ids('{g: {_st_touches: {type: "Polygon", coordinates: [[[0, 0], [0, 2], [2, 2], [2, 0], [0, 0]]], crs: {type: "name", properties: {name: "EPSG:4326"}}}}}'), [5]);

  // 3D: both points intersect (1 1) in 2D; only one is within 5 of (1 1 13) in 3D.
  const p3 = async (where: string, point: number[]) => {
    const r = await gql(`query ($p: geometry!) { pts3d(where: ${where}, order_by: {id: asc}) { id } }`, { p: { type: 'Point', coordinates: point } });
    assert.ok(r.data, JSON.stringify(r));
    return r.data.pts3d.map((s: { id: number }) => s.id);
  };
  assert.deepEqual(await p3('{g: {_st_3d_d_within: {distance: 5, from: $p}}}', [1, 1, 13]), [1]);
  assert.deepEqual(await p3('{g: {_st_3d_intersects: $p}}', [1, 1, 0]), [2]);
  assert.deepEqual(await p3('{g: {_st_intersects: $p}}', [1, 1, 0]), [1, 2]);

  // Geography: metres, use_spheroid; casts both ways.
  const cities = async (where: string, variables?: unknown) => {
    const r = await gql(`query ${variables ? '($p: geography!)' : ''} { city(where: ${where}, order_by: {id: asc}) { name } }`, variables);
    assert.ok(r.data, JSON.stringify(r));
    return r.data.city.map((c: { name: string }) => c.name);
  };
  assert.deepEqual(await cities('{at: {_st_d_within: {distance: 1000000, from: $p}}}', { p: at(1, 50) }), ['London', 'Paris']);
  assert.deepEqual(await cities('{at: {_st_d_within: {distance: 1000000, from: $p, use_spheroid: false}}}', { p: at(1, 50) }), ['London', 'Paris']);
  assert.deepEqual(await cities('{at: {_st_d_within: {distance: 300000, from: $p}}}', { p: at(0, 52) }), ['London']);
  assert.deepEqual(await cities('{at_geom: {_cast: {geography: {_st_d_within: {distance: 300000, from: {type: "Point", coordinates: [0, 52]}}}}}}'), ['London']);
  assert.deepEqual(await cities('{at: {_cast: {geometry: {_st_within: {type: "Polygon", coordinates: [[[-75, 40], [-74, 40], [-74, 41], [-75, 41], [-75, 40]]], crs: {type: "name", properties: {name: "EPSG:4326"}}}}}}}'), ['New York']);
  const illegal = await gql('{ city(where: {at: {_cast: {integer: {_eq: 0}}}}) { name } }');
  assert.deepEqual(illegal.errors[0], {
    extensions: { path: '$.selectionSet.city.args.where.at._cast.integer', code: 'validation-failed' },
    message: "field 'integer' not found in type: 'geography_cast_exp'",
  });

  // The schema: geometry has the full set, geography the two it supports.
  const types = await gql(`{
    a: __type(name: "geometry_comparison_exp") { inputFields { name } }
    b: __type(name: "geography_comparison_exp") { inputFields { name } }
    c: __type(name: "st_d_within_geography_input") { inputFields { name defaultValue } }
  }`);
  assert.deepEqual(types.data.a.inputFields.map((f: { name: string }) => f.name), [
    '_cast', '_eq', '_gt', '_gte', '_in', '_is_null', '_lt', '_lte', '_neq', '_nin', '_st_3d_d_within', '_st_3d_intersects',
    '_st_contains', '_st_crosses', '_st_d_within', '_st_equals', '_st_intersects', '_st_overlaps', '_st_touches', '_st_within',
  ]);
  assert.deepEqual(types.data.b.inputFields.map((f: { name: string }) => f.name), ['_cast', '_eq', '_gt', '_gte', '_in', '_is_null', '_lt', '_lte', '_neq', '_nin', '_st_d_within', '_st_intersects']);
  assert.deepEqual(types.data.c.inputFields, [{ name: 'distance', defaultValue: null }, { name: 'from', defaultValue: null }, { name: 'use_spheroid', defaultValue: 'true' }]);

  // Insert: GeoJSON checked first (parse-failed at the value's path), normalised, returned as GeoJSON.
  const ins = await gql('mutation ($g: geometry!) { insert_shapes_one(object: {id: 7, name: "z", g: $g}) { g } }',
    { g: { type: 'Point', coordinates: [1, 2, 3, 4], crs: { type: 'name', properties: { name: 'EPSG:4326' } } } });
  assert.deepEqual(ins.data.insert_shapes_one.g, { type: 'Point', crs: { type: 'name', properties: { name: 'urn:ogc:def:crs:EPSG::4326' } }, coordinates: [1, 2, 3] });
  const bad = await gql('mutation ($o: [shapes_insert_input!]!) { insert_shapes(objects: $o) { affected_rows } }',
    { o: [{ id: 8, name: 'y', g: { type: 'Polygon', coordinates: [[[0, 0], [0, 1], [1, 1], [1, 0]]] } }] });
  assert.deepEqual(bad.errors, [{ extensions: { path: '$.selectionSet.insert_shapes.args.objects[0].g', code: 'parse-failed' }, message: 'the first and last locations have to be equal for a LinearRing' }]);
  const badFilter = await gql('{ shapes(where: {g: {_st_within: {type: "Point", coordinates: [1]}}}) { id } }');
  assert.deepEqual(badFilter.errors[0].extensions, { path: '$.selectionSet.shapes.args.where.g._st_within', code: 'parse-failed' });
  const upd = await gql('mutation ($g: geometry!) { update_shapes_by_pk(pk_columns: {id: 7}, _set: {g: $g}) { g } }', { g: at(3, 4) });
  assert.deepEqual(upd.data.update_shapes_by_pk.g.coordinates, [3, 4]);

  // Session variables hold GeoJSON text: a select filter and an insert preset.
  const user = { 'x-hasura-role': 'user', 'x-hasura-dist': '0.5', 'x-hasura-geom': JSON.stringify(at(1, 1)) };
  const mine = await gql('{ shapes(order_by: {id: asc}) { id } }', undefined, user);
  assert.deepEqual(mine.data.shapes.map((s: { id: number }) => s.id), [1, 2, 3, 6]);
  const preset = await gql('mutation { insert_shapes_one(object: {id: 9, name: "preset"}) { id } }', undefined, { ...user, 'x-hasura-geom': JSON.stringify(at(1.2, 1)) });
  assert.deepEqual(preset.data, { insert_shapes_one: { id: 9 } });
  assert.deepEqual((await gql('{ shapes_by_pk(id: 9) { g } }')).data.shapes_by_pk.g.coordinates, [1.2, 1]);

  // /v1/query: `$`-operators and casts, with the path of a refused cast.
  const rql = await post(app, '/v1/query', { type: 'select', args: { table: 'city', columns: ['name'], where: { at: { $cast: { geometry: { $st_d_within: { distance: 3, from: at(1, 50) } } } } } } });
  assert.deepEqual(rql.body, [{ name: 'London' }, { name: 'Paris' }]);
  const rqlBad = await post(app, '/v1/query', { type: 'select', args: { table: 'city', columns: ['name'], where: { at: { $cast: { integer: { $eq: 0 } } } } } });
  assert.equal(rqlBad.status, 400);
  assert.deepEqual(rqlBad.body, { path: '$.args.where.at["$cast"]', error: 'cannot cast column of type "geography" to type "integer"', code: 'unexpected-payload' });
});
