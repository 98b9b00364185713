import { QErr } from '../errors.ts';

/**
 * GeoJSON input for `geometry`/`geography` columns, checked as Hasura checks it before any SQL is
 * built (Backends/Postgres/SQL/GeoJSON.hs: `GeometryWithCRS`, `Position`, `LineString`,
 * `LinearRing` FromJSON instances) and re-encoded from what was parsed, as Hasura re-encodes it
 * (`PGValGeo o -> encode o`, SQL/Value.hs): a position keeps at most three coordinates, unknown keys
 * are dropped. The failure messages are Hasura's, raised as `parse-failed` at the value's path
 * (graphql_mutation/insert/geojson/*_err.yaml).
 */
export type GeoJson = Record<string, unknown>;

const fail = (message: string): never => { throw new QErr('parse-failed', message); };

function describe(v: unknown): string {
  if (v === null) return 'Null';
  if (Array.isArray(v)) return 'Array';
  if (typeof v === 'object') return 'Object';
  if (typeof v === 'string') return 'String';
  if (typeof v === 'number') return 'Number';
  return 'Boolean';
}

/** Aeson's `withX` mismatch wording: `parsing Position failed, expected Array, but encountered Object`. */
const expected = (what: string, kind: string, v: unknown): never => fail(`parsing ${what} failed, expected ${kind}, but encountered ${describe(v)}`);

function number(v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) return expected('Double', 'Number', v);
  return v;
}

/** `Position`: at least two numbers; a third (z) is kept, anything past it ignored. */
function position(v: unknown): number[] {
  if (!Array.isArray(v)) return expected('Position', 'Array', v);
  if (v.length < 2) return fail('A Position needs at least 2 elements');
  return v.slice(0, 3).map(number);
}

function positions(v: unknown): number[][] {
  if (!Array.isArray(v)) return expected('[Position]', 'Array', v);
  return v.map(position);
}

function lineString(v: unknown): number[][] {
  if (!Array.isArray(v)) return expected('LineString', 'Array', v);
  if (v.length < 2) return fail('A LineString needs at least 2 Positions');
  return v.map(position);
}

function linearRing(v: unknown): number[][] {
  if (!Array.isArray(v)) return expected('LinearRing', 'Array', v);
  if (v.length < 4) return fail('A LinearRing needs at least 4 Positions');
  const ps = v.map(position);
  const first = ps[0]!;
  const last = ps[ps.length - 1]!;
  if (first.length !== last.length || first.some((x, i) => x !== last[i])) fail('the first and last locations have to be equal for a LinearRing');
  return ps;
}

const listOf = <T>(what: string, f: (x: unknown) => T) => (v: unknown): T[] => {
  if (!Array.isArray(v)) return expected(what, 'Array', v);
  return v.map(f);
};

const polygon = listOf('Polygon', linearRing);

function field(o: Record<string, unknown>, key: string): unknown {
  if (!(key in o)) fail(`key "${key}" not found`);
  return o[key];
}

/** `CRS`: `{"type": "name", "properties": {"name": …}}` or `{"type": "link", "properties": {"href": …, "type"?: …}}`. */
function crs(v: unknown): GeoJson {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return expected('crs', 'Object', v);
  const o = v as Record<string, unknown>;
  const ty = field(o, 'type');
  const props = field(o, 'properties');
  if (props === null || typeof props !== 'object' || Array.isArray(props)) return expected('properties', 'Object', props);
  const p = props as Record<string, unknown>;
  if (ty === 'name') {
    const name = field(p, 'name');
    if (typeof name !== 'string') return expected('Text', 'String', name);
    return { type: 'name', properties: { name } };
  }
  if (ty === 'link') {
    const href = field(p, 'href');
    if (typeof href !== 'string') return expected('Text', 'String', href);
    const t = p.type;
    if (t !== undefined && t !== null && typeof t !== 'string') return expected('Text', 'String', t);
    return { type: 'link', properties: { href, ...(typeof t === 'string' ? { type: t } : {}) } };
  }
  return fail(`unexpected CRS type: ${String(ty)}`);
}

function geometry(v: unknown): GeoJson {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return expected('Geometry', 'Object', v);
  const o = v as Record<string, unknown>;
  const ty = field(o, 'type');
  if (typeof ty !== 'string') return expected('Text', 'String', ty);
  let out: GeoJson;
  switch (ty) {
    case 'Point': out = { type: ty, coordinates: position(field(o, 'coordinates')) }; break;
    case 'MultiPoint': out = { type: ty, coordinates: positions(field(o, 'coordinates')) }; break;
    case 'LineString': out = { type: ty, coordinates: lineString(field(o, 'coordinates')) }; break;
    case 'MultiLineString': out = { type: ty, coordinates: listOf('MultiLineString', lineString)(field(o, 'coordinates')) }; break;
    case 'Polygon': out = { type: ty, coordinates: polygon(field(o, 'coordinates')) }; break;
    case 'MultiPolygon': out = { type: ty, coordinates: listOf('MultiPolygon', polygon)(field(o, 'coordinates')) }; break;
    case 'GeometryCollection': out = { type: ty, geometries: listOf('GeometryCollection', geometry)(field(o, 'geometries')) }; break;
    default: return fail(`unexpected geometry type: ${ty}`);
  }
  if (o.crs !== undefined && o.crs !== null) out.crs = crs(o.crs);
  return out;
}

/** A GraphQL `geometry`/`geography` input value: the GeoJSON as PostgreSQL will be given it. */
export function parseGeoJson(v: unknown): GeoJson {
  return geometry(v);
}

export const isGeoTypeName = (name: string): boolean => name === 'geometry' || name === 'geography';
