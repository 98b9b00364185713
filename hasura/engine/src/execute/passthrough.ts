/**
 * The database's JSON passed through to the client (issue 16 §1). A query whose root fields all
 * come from PostgreSQL is one statement returning the whole `data` object as one `json` cell
 * (compile/operation.ts). Hasura writes each root field's cell into the response as it is: its
 * `mkCurPlanTx` (server/src-lib/Hasura/Backends/Postgres/Instances/Execute.hs) reads the row's one
 * column as `EncJSON` bytes, and the answer is those bytes joined with `encJFromAssocList`
 * (GraphQL/Transport/HTTP/Protocol.hs). Parsing the cell in JS only to stringify it again cost
 * about 6 ms of CPU per request on a link's 30-day hourly series.
 *
 * So the response carries the text and its `data` is parsed only when someone reads it (the
 * @cached store, REST endpoints, WebSocket payloads, tests): every reader sees exactly what the
 * parsed path gave. The HTTP answer (`responseBody`) is `{"data":` + the text + `}`, in one of two
 * forms (ENGINE_JSON_PASSTHROUGH):
 *   - `compact` (the default): PostgreSQL's insignificant whitespace taken out — `json_build_object`
 *     writes `"k" : v`, `json_agg` writes `, \n ` between elements — so the bytes stay what
 *     `JSON.stringify` made of them. Done on the UTF-8 bytes, which are what is sent anyway.
 *   - `verbatim`: the text as PostgreSQL wrote it, spaces included, as Hasura sends it; no pass over
 *     the text at all. The same JSON to every reader, other bytes.
 *
 * What the text keeps that a parse and stringify would have changed, all of it PostgreSQL's (and so
 * Hasura's) own rendering: numbers as PostgreSQL prints them (`1.0`, `1e+20`, integers above 2^53
 * exact — with stringified numeric types, bigint and numeric are strings either way), and a `json`
 * column's text verbatim (its escapes such as `\u00e9`, duplicate keys, integer-like keys in their
 * order). test/query/passthrough.test.ts pins both the equal and the differing cases.
 */
import type { GraphQLResponse } from '../contract.ts';

const RAW = Symbol('linkport.passthrough');

/** How a passed-through `data` text is written (ENGINE_JSON_PASSTHROUGH). */
export type PassthroughMode = 'compact' | 'verbatim';

interface RawState {
  /** PostgreSQL's text of the `data` object. */
  text: string;
  mode: PassthroughMode;
  /** Set once `data` was read (or replaced): from then on the object is the truth. */
  parsed: boolean;
  data: unknown;
}

type RawResponse = GraphQLResponse & { [RAW]?: RawState };

/** A `{data}` response over PostgreSQL's JSON text of `data`, parsed on first read. */
export function passthroughResponse(dataText: string, mode: PassthroughMode = 'compact'): GraphQLResponse {
  const state: RawState = { text: dataText, mode, parsed: false, data: undefined };
  const res = {} as RawResponse;
  Object.defineProperty(res, 'data', {
    enumerable: true,
    configurable: true,
    get() {
      if (!state.parsed) {
        state.data = JSON.parse(state.text);
        state.parsed = true;
      }
      return state.data;
    },
    set(v: unknown) {
      state.data = v;
      state.parsed = true;
    },
  });
  // Not enumerable: deep equality, spreading and JSON.stringify see a plain `{data}`.
  Object.defineProperty(res, RAW, { value: state, enumerable: false });
  return res;
}

/** Whether `res` still answers with the database's text (nothing read or changed it). */
export function isPassthrough(res: GraphQLResponse): boolean {
  const st = (res as RawResponse)[RAW];
  return st !== undefined && !st.parsed && Object.keys(res).length === 1;
}

const isRaw = (r: unknown): boolean => r !== null && typeof r === 'object' && !Array.isArray(r) && isPassthrough(r as GraphQLResponse);

/**
 * The response's JSON: the database's text when it was passed through untouched (a Buffer when
 * compacted), else `JSON.stringify`. A reader may have parsed `data` and changed the object (or
 * added `errors`); then the object is what is sent.
 */
export function responseBody(res: unknown): string | Buffer {
  if (isRaw(res)) {
    const st = (res as RawResponse)[RAW]!;
    return st.mode === 'verbatim' ? `{"data":${st.text}}` : compactJson(st.text, '{"data":', '}');
  }
  // A batch: JSON.stringify of an array is its items' texts joined by commas.
  if (Array.isArray(res) && res.some(isRaw)) {
    const parts: Buffer[] = [Buffer.from('[')];
    res.forEach((r, i) => {
      if (i > 0) parts.push(Buffer.from(','));
      const b = responseBody(r);
      parts.push(typeof b === 'string' ? Buffer.from(b) : b);
    });
    parts.push(Buffer.from(']'));
    return Buffer.concat(parts);
  }
  return JSON.stringify(res);
}

/**
 * `prefix` + `text` (valid JSON) + `suffix` as UTF-8, without the whitespace outside strings of
 * `text` (RFC 8259 §2: space, tab, LF, CR are insignificant around structural characters). One
 * pass over the bytes, compacting in place: inside a string every byte is kept and a backslash
 * keeps the byte after it too; UTF-8 continuation bytes (≥ 0x80) never look like `"`, `\` or
 * whitespace. `prefix` and `suffix` are ASCII.
 */
export function compactJson(text: string, prefix = '', suffix = ''): Buffer {
  const start = prefix.length;
  const buf = Buffer.allocUnsafe(start + Buffer.byteLength(text) + suffix.length);
  buf.write(prefix, 0, 'latin1');
  const end = start + buf.write(text, start, 'utf8');
  let w = start;
  let inString = false;
  for (let r = start; r < end; r++) {
    const c = buf[r]!;
    if (inString) {
      buf[w++] = c;
      if (c === 92) buf[w++] = buf[++r]!;
      else if (c === 34) inString = false;
    } else if (c !== 32 && c !== 10 && c !== 13 && c !== 9) {
      buf[w++] = c;
      if (c === 34) inString = true;
    }
  }
  w += buf.write(suffix, w, 'latin1');
  return buf.subarray(0, w);
}
