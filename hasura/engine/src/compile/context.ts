import type { Session } from '../contract.ts';
import { adminPerm } from '../schema/build-role.ts';
import { mutationPerms, type MutationPerms } from '../schema/mutation-fields.ts';
import type { ColumnModel, Model, SelectPerm, TableModel } from '../schema/model.ts';
import { identifier, keyword, sql, value, type SQL } from '../sql/sql.ts';
import { QErr } from '../errors.ts';

/** Per-operation compile state: who asks, output options, and a fresh-alias counter. */
export class CompileContext {
  private n = 0;
  readonly mutation: MutationPerms;
  constructor(readonly model: Model, readonly session: Session, readonly stringify: boolean, backendOnly = false) {
    this.mutation = mutationPerms(session.isAdmin && session.role === 'admin' ? null : session.role, backendOnly);
  }

  get admin(): boolean { return this.session.isAdmin && this.session.role === 'admin'; }

  alias(): SQL { return identifier(`_${this.n++}`); }

  permOf(t: TableModel): SelectPerm | undefined {
    return this.admin ? adminPerm(t) : t.perms.get(this.session.role);
  }

  /** Session variable, case-insensitive (docs syntax-defs.mdx); missing → Hasura's not-found error. */
  sessionVar(name: string): string {
    const v = this.session.vars[name.toLowerCase()];
    if (v === undefined) throw new QErr('not-found', `missing session variable: "${name.toLowerCase()}"`, '$');
    return v;
  }
}

export const isSessionVar = (v: unknown): v is string => typeof v === 'string' && /^x-hasura-/i.test(v);

/** `"schema"."type"`: casts use the catalog's type names, always quoted. */
export const typeSql = (c: ColumnModel): SQL => identifier(c.type.schema, c.type.name);

/** A column value as a typed bind parameter: json(b) as its JSON text, the rest as given. */
export function columnValue(c: ColumnModel, v: unknown): SQL {
  if (isGeo(c) && v !== null) return geoValue(c, value(typeof v === 'string' ? v : JSON.stringify(v)));
  // A raster value is hex-encoded WKB (`withConstructorFn`: `ST_RastFromHexWKB`).
  if (c.type.name === 'raster' && v !== null) return sql`ST_RastFromHexWKB((${value(v)})::text)`;
  return sql`(${value(encode(c, v))})::${typeSql(c)}`;
}

export const isGeo = (c: ColumnModel): boolean => c.type.name === 'geometry' || c.type.name === 'geography';

/**
 * GeoJSON text → a geometry/geography value: Hasura's `withConstructorFn` (Postgres/SQL/Value.hs)
 * wraps every geo value — literal or session variable — in `ST_GeomFromGeoJSON`, then casts.
 */
export function geoValue(c: ColumnModel, text: SQL): SQL {
  return sql`ST_GeomFromGeoJSON((${text})::text)::${typeSql(c)}`;
}

export function encode(c: ColumnModel, v: unknown): unknown {
  if (c.type.name === 'json' || c.type.name === 'jsonb') return typeof v === 'string' && c.type.name === 'json' ? JSON.stringify(v) : JSON.stringify(v);
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) return JSON.stringify(v);
  return v;
}

/** A JSON object key or type name: a GraphQL Name (`/[_A-Za-z][_0-9A-Za-z]*\/`), safe as a literal. */
export function nameLiteral(name: string): SQL {
  if (!/^[_A-Za-z][_0-9A-Za-z]*$/.test(name)) return value(name);
  return keyword(`'${name}'`);
}
