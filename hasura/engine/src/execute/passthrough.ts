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
 * parsed path gave. The HTTP answer (`responseBody`) is `{"data":` + the text + `}` with
 * PostgreSQL's insignificant whitespace taken out: `json_build_object` writes `"k" : v`, `json_agg`
 * writes `, \n ` between elements, and our answers have always been compact
 * (`JSON.stringify`), so the bytes stay what they were (Hasura keeps PostgreSQL's spaces; JSON
 * readers see no difference).
 *
 * What the text keeps that a parse and stringify would have changed, all of it PostgreSQL's (and so
 * Hasura's) own rendering: numbers as PostgreSQL prints them (`1.0`, `1e+20`, integers above 2^53
 * exact — with stringified numeric types, bigint and numeric are strings either way), and a `json`
 * column's text verbatim (its escapes such as `\u00e9`, duplicate keys, integer-like keys in their
 * order). test/query/passthrough.test.ts pins both the equal and the differing cases.
 */
import type { GraphQLResponse } from '../contract.ts';

const RAW = Symbol('linkport.passthrough');

interface RawState {
  /** PostgreSQL's text of the `data` object. */
  text: string;
  /** Set once `data` was read (or replaced): from then on the object is the truth. */
  parsed: boolean;
  data: unknown;
}

type RawResponse = GraphQLResponse & { [RAW]?: RawState };

/** A `{data}` response over PostgreSQL's JSON text of `data`, parsed on first read. */
export function passthroughResponse(dataText: string): GraphQLResponse {
  const state: RawState = { text: dataText, parsed: false, data: undefined };
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

/**
 * The response's JSON text: the database's text when it was passed through untouched, else
 * `JSON.stringify`. A reader may have parsed `data` and changed the object (or added `errors`);
 * then the object is what is sent.
 */
export function responseBody(res: unknown): string {
  if (res !== null && typeof res === 'object' && !Array.isArray(res) && isPassthrough(res as GraphQLResponse)) {
    return `{"data":${compactJson((res as RawResponse)[RAW]!.text)}}`;
  }
  // A batch: JSON.stringify of an array is its items' texts joined by commas.
  if (Array.isArray(res) && res.some((r) => r !== null && typeof r === 'object' && isPassthrough(r as GraphQLResponse))) {
    return `[${res.map((r) => responseBody(r)).join(',')}]`;
  }
  return JSON.stringify(res);
}

const isSpace = (c: number): boolean => c === 32 || c === 10 || c === 13 || c === 9;

/**
 * `text` (valid JSON) without whitespace outside strings (RFC 8259 §2: space, tab, LF, CR are
 * insignificant around structural characters). Strings are copied as they are, skipped with
 * indexOf; a closing quote is one preceded by an even number of backslashes.
 */
export function compactJson(text: string): string {
  const n = text.length;
  let out = '';
  let from = 0;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 34) {
      let q = i;
      for (;;) {
        q = text.indexOf('"', q + 1);
        if (q < 0) return text; // not JSON: leave it to the client to see
        let b = q - 1;
        while (text.charCodeAt(b) === 92) b--;
        if ((q - 1 - b) % 2 === 0) break;
      }
      i = q + 1;
    } else if (isSpace(c)) {
      if (i > from) out += text.slice(from, i);
      i++;
      while (i < n && isSpace(text.charCodeAt(i))) i++;
      from = i;
    } else {
      i++;
    }
  }
  return from === 0 ? text : out + text.slice(from);
}
