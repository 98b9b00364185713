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
  // Postgres/SQL/Value.hs `txtEncodedVal`: a numeric is sent as Haskell's `show` of its Scientific
  // (`-1E-30` → `-1.0e-30`, whose scale PostgreSQL keeps), money with exactly 2 decimals
  // ("PostgreSQL doesn't like scientific notation for money"; upstream numerics_inc.yaml). Number
  // literals arrive as their text (validation/values.ts), variables as JSON numbers.
  if ((typeof v === 'number' && Number.isFinite(v)) || (typeof v === 'string' && DECIMAL.test(v))) {
    const d = decimal(String(v));
    // Integers stay as written: what `show` gives them (`100.0`) is not checked by any upstream case.
    if (d && c.type.name === 'numeric' && !/^-?\d+$/.test(String(v))) return showScientific(d);
    if (d && c.type.name === 'money') return fixed2(d);
  }
  if (c.type.name === 'json' || c.type.name === 'jsonb') return typeof v === 'string' && c.type.name === 'json' ? JSON.stringify(v) : JSON.stringify(v);
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) return JSON.stringify(v);
  return v;
}

/** A JSON object key or type name: a GraphQL Name (`/[_A-Za-z][_0-9A-Za-z]*\/`), safe as a literal. */
export function nameLiteral(name: string): SQL {
  if (!/^[_A-Za-z][_0-9A-Za-z]*$/.test(name)) return value(name);
  return keyword(`'${name}'`);
}

const DECIMAL = /^-?(\d+)(\.\d+)?([eE][+-]?\d+)?$/;

/** value = sign 0.digits × 10^exp (digits without leading/trailing zeros; '' for zero). */
interface Decimal { sign: string; digits: string; exp: number }

function decimal(text: string): Decimal | undefined {
  const m = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(text);
  if (!m) return undefined;
  const [, sign = '', int = '', frac = '', e = '0'] = m;
  const all = `${int}${frac}`;
  const lead = all.length - all.replace(/^0+/, '').length;
  return { sign, digits: all.slice(lead).replace(/0+$/, ''), exp: int.length - lead + Number(e) };
}

/**
 * Data.Scientific's `show` (formatScientific Generic): fixed notation when the decimal exponent of
 * 0.d₁d₂… × 10^e is in 0..7, else `d₁.d₂…e<n>` with at least one fraction digit (`1.0e-30`).
 */
export function showScientific(d: Decimal | number): string {
  const x = typeof d === 'number' ? decimal(String(d)) : d;
  if (!x) return String(d);
  const { sign, digits, exp } = x;
  if (!digits) return '0.0';
  if (exp < 0 || exp > 7) return `${sign}${digits[0]}.${digits.slice(1) || '0'}e${exp - 1}`;
  if (exp === 0) return `${sign}0.${digits}`;
  return `${sign}${digits.slice(0, exp).padEnd(exp, '0')}.${digits.slice(exp) || '0'}`;
}

/** formatScientific Fixed (Just 2): two decimals, rounded half up (Data.Scientific `roundTo`). */
function fixed2({ sign, digits, exp }: Decimal): string {
  // The digits as an integer count of hundredths, then rounded on the third decimal.
  const shift = exp + 2;
  let cents: bigint;
  if (!digits || shift < 0) cents = 0n;
  else {
    const kept = digits.slice(0, shift).padEnd(shift, '0') || '0';
    cents = BigInt(kept) + (Number(digits[shift] ?? '0') >= 5 ? 1n : 0n);
  }
  const t = cents.toString().padStart(3, '0');
  return `${cents === 0n ? '' : sign}${t.slice(0, -2)}.${t.slice(-2)}`;
}
