/**
 * Webhook request and response transforms ("REST connectors") as Hasura v2 applies them to event
 * triggers, cron triggers and one-off scheduled events (docs/docs/api-reference/syntax-defs.mdx
 * RequestTransformation / ResponseTransformation; upstream RQL/Types/Webhook/Transform*.hs for
 * the JSON shapes and RQL/DDL/Webhook/Transform/{Method,Url,Body,QueryParams,Headers,Response}.hs
 * for their effect):
 *
 * - version 1: `body` is a Kriti template; version 2: `body` is {action: transform | remove |
 *   x_www_form_urlencoded, template?, form_template?}.
 * - method replaces the method; url is an (unescaped, i.e. string-interpolation) template that must
 *   give a valid URL; query_params is {key template: value template | null} (a pair whose key or
 *   value renders "null" is dropped) or one template giving the whole query string;
 *   request_headers {add_headers, remove_headers}; every template sees $body (the original JSON
 *   body), $base_url, $session_variables, $query_params, and getSessionVariable().
 * - Each field is computed from the original request; the first field (method, url, body,
 *   query_params, headers) that fails fails the transform with its errors (a TransformErrorBundle).
 * - Creating a trigger (or test_webhook_transform) parses every template first: response transform,
 *   then request, each failure a 400 `validation-failed` with the Kriti errors in `internal`.
 * - The response transform rewrites the response body as logged, seeing $body (the response JSON),
 *   $request (the request context), $response.status and $session_variables.
 */
import { QErr, badRequest } from '../errors.ts';
import { KritiError, parseKriti, runKriti, escapeUri, FunctionError, type Json, type KritiFunction } from './kriti.ts';

export type BodyFn = { action: 'remove' } | { action: 'transform'; template: string } | { action: 'x_www_form_urlencoded'; form: Array<[string, string]> };

export interface RequestTransform {
  method?: string;
  url?: string;
  body?: BodyFn;
  queryParams?: { kind: 'pairs'; pairs: Array<[string, string | null]> } | { kind: 'template'; template: string };
  headers?: { add: Array<[string, string]>; remove: string[] };
}

export interface ResponseTransform {
  body?: BodyFn;
}

/** A TransformErrorBundle: the reasons a transform could not be applied. */
export class TransformError extends Error {
  constructor(readonly bundle: unknown[]) {
    super(JSON.stringify(bundle));
  }
}

const parseFailed = (message: string, path: string) => badRequest('parse-failed', message, path);
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function str(v: unknown, path: string): string {
  if (typeof v !== 'string') throw parseFailed('expected String', path);
  return v;
}

function parseVersion(o: Record<string, unknown>, path: string): 1 | 2 {
  const v = o.version ?? 1;
  if (v === 1 || v === '1') return 1;
  if (v === 2 || v === '2') return 2;
  throw parseFailed(`unexpected version: ${JSON.stringify(v)}`, `${path}.version`);
}

function parseEngine(o: Record<string, unknown>, path: string): void {
  if (o.template_engine !== undefined && o.template_engine !== null && o.template_engine !== 'Kriti') {
    throw parseFailed('parsing TemplatingEngine failed, expected one of the tags ["Kriti"]', `${path}.template_engine`);
  }
}

function parseBody(v: unknown, version: 1 | 2, path: string): BodyFn | undefined {
  if (v === undefined || v === null) return undefined;
  if (version === 1) return { action: 'transform', template: str(v, path) };
  if (!isRecord(v)) throw parseFailed('parsing BodyTransformFn failed, expected Object', path);
  switch (v.action) {
    case 'remove':
      return { action: 'remove' };
    case 'transform':
      return { action: 'transform', template: str(v.template, `${path}.template`) };
    case 'x_www_form_urlencoded': {
      if (!isRecord(v.form_template)) throw parseFailed('expected Object', `${path}.form_template`);
      return { action: 'x_www_form_urlencoded', form: Object.entries(v.form_template).map(([k, t]) => [k, str(t, `${path}.form_template.${k}`)]) };
    }
    default:
      throw parseFailed('invalid transform action', path);
  }
}

/** RequestTransform FromJSON. */
export function parseRequestTransform(v: unknown, path = '$.args.request_transform'): RequestTransform {
  if (!isRecord(v)) throw parseFailed('parsing RequestTransform failed, expected Object', path);
  const version = parseVersion(v, path);
  parseEngine(v, path);
  const out: RequestTransform = {};
  if (v.method !== undefined && v.method !== null) out.method = str(v.method, `${path}.method`);
  if (v.url !== undefined && v.url !== null) out.url = str(v.url, `${path}.url`);
  const body = parseBody(v.body, version, `${path}.body`);
  if (body) out.body = body;
  const q = v.query_params;
  if (typeof q === 'string') out.queryParams = { kind: 'template', template: q };
  else if (isRecord(q)) {
    out.queryParams = {
      kind: 'pairs',
      pairs: Object.entries(q).map(([k, x]) => {
        if (x !== null && typeof x !== 'string') throw parseFailed('expected String or null', `${path}.query_params.${k}`);
        return [k, x];
      }),
    };
  } else if (q !== undefined && q !== null) throw parseFailed('Invalid query parameter', `${path}.query_params`);
  const h = v.request_headers;
  if (h !== undefined && h !== null) {
    if (!isRecord(h)) throw parseFailed('parsing AddReplaceRemoveFields failed, expected Object', `${path}.request_headers`);
    const add = h.add_headers ?? {};
    const remove = h.remove_headers ?? [];
    if (!isRecord(add)) throw parseFailed('expected Object', `${path}.request_headers.add_headers`);
    if (!Array.isArray(remove) || !remove.every((x) => typeof x === 'string')) throw parseFailed('expected an array of header names', `${path}.request_headers.remove_headers`);
    out.headers = { add: Object.entries(add).map(([k, x]) => [k, str(x, `${path}.request_headers.add_headers.${k}`)]), remove: remove as string[] };
  }
  return out;
}

/** MetadataResponseTransform FromJSON. */
export function parseResponseTransform(v: unknown, path = '$.args.response_transform'): ResponseTransform {
  if (!isRecord(v)) throw parseFailed('parsing MetadataResponseTransform failed, expected Object', path);
  const version = parseVersion(v, path);
  parseEngine(v, path);
  const body = parseBody(v.body, version, `${path}.body`);
  return body ? { body } : {};
}

/** An unescaped template (url, query params, headers, form values) is a string template: `"…"`. */
const wrap = (t: string) => `"${t}"`;

function parseErrors(templates: string[]): unknown[] {
  const errors: unknown[] = [];
  for (const t of templates) {
    try {
      parseKriti(t);
    } catch (err) {
      if (err instanceof KritiError) errors.push(err.toJSON());
      else throw err;
    }
  }
  return errors;
}

function bodyTemplates(b: BodyFn | undefined): string[] {
  if (!b || b.action === 'remove') return [];
  return b.action === 'transform' ? [b.template] : b.form.map(([, t]) => wrap(t));
}

/**
 * validateTransforms: every template parses (the response transform is checked first). A failure
 * is Hasura's 400 validation-failed with the Kriti errors as `internal`.
 */
export function validateTransforms(request: RequestTransform | undefined, response: ResponseTransform | undefined): void {
  if (response) {
    const errs = parseErrors(bodyTemplates(response.body));
    if (errs.length) throw new QErr('validation-failed', 'response transform validation failed', '$.args', errs, 400);
  }
  if (request) {
    const templates = [
      ...(request.url !== undefined ? [wrap(request.url)] : []),
      ...bodyTemplates(request.body),
      ...(request.queryParams?.kind === 'template' ? [wrap(request.queryParams.template)] : []),
      ...(request.queryParams?.kind === 'pairs' ? request.queryParams.pairs.flatMap(([k, x]) => [wrap(k), ...(x === null ? [] : [wrap(x)])]) : []),
      ...(request.headers?.add.map(([, t]) => wrap(t)) ?? []),
    ];
    const errs = parseErrors(templates);
    if (errs.length) throw new QErr('validation-failed', 'request transform validation failed', '$.args', errs, 400);
  }
}

export type SessionVariables = Record<string, string>;

/** Data.Aeson.Kriti.Functions.sessionFunctions: getSessionVariable, case-insensitive. */
function sessionFunctions(session: SessionVariables | undefined): Record<string, KritiFunction> {
  return {
    getSessionVariable: (v) => {
      if (v === null) return null;
      if (typeof v !== 'string') throw new FunctionError('Session variable name should be a string');
      const key = Object.keys(session ?? {}).find((k) => k.toLowerCase() === v.toLowerCase());
      if (key === undefined) throw new FunctionError(`Session variable "${v}" not found`);
      return session![key]!;
    },
  };
}

/** A webhook request as the transforms see it. */
export interface WebhookRequest {
  method: string;
  url: string;
  headers: Array<[string, string]>;
  /** The raw body ('' for none). */
  body: string;
}

function kriti(template: string, bindings: Record<string, Json>, session: SessionVariables | undefined): Json {
  try {
    return runKriti(template, bindings, sessionFunctions(session));
  } catch (err) {
    if (err instanceof KritiError) throw new TransformError([err.toJSON()]);
    // Data nested deeply enough to exhaust the stack while comparing: a failed transform, not a crash.
    if (err instanceof RangeError) throw transformationError(`template evaluation failed: ${err.message}`);
    throw err;
  }
}

const transformationError = (message: string, value?: Json) => new TransformError([{ error_code: 'TransformationError', message, ...(value !== undefined ? { value } : {}) }]);

/** encodeScalar: what an unescaped template may produce. */
function scalar(v: Json): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw transformationError('Template must produce a String, Number, or Boolean value', v);
}

/** Runs unescaped templates, collecting every failure (Hasura's Validation applicative). */
function allScalars(templates: string[], bindings: Record<string, Json>, session: SessionVariables | undefined): string[] {
  const errors: unknown[] = [];
  const out = templates.map((t) => {
    try {
      return scalar(kriti(wrap(t), bindings, session));
    } catch (err) {
      if (!(err instanceof TransformError)) throw err;
      errors.push(...err.bundle);
      return '';
    }
  });
  if (errors.length) throw new TransformError(errors);
  return out;
}

function decodeJson(text: string): Json {
  try {
    return JSON.parse(text) as Json;
  } catch {
    return null;
  }
}

function splitUrl(url: string): { base: string; query: string | undefined } {
  const q = url.indexOf('?');
  return q < 0 ? { base: url, query: undefined } : { base: url.slice(0, q), query: url.slice(q + 1) };
}

/** http-types parseQuery: `a=b&c` → [[a, b], [c, null]], percent-decoded. */
function parseQuery(q: string): Array<[string, string | null]> {
  const dec = (s: string) => {
    try {
      return decodeURIComponent(s.replace(/\+/g, ' '));
    } catch {
      return s;
    }
  };
  return q.replace(/^\?/, '').split(/[&;]/).filter(Boolean).map((kv) => {
    const i = kv.indexOf('=');
    return i < 0 ? [dec(kv), null] : [dec(kv.slice(0, i)), dec(kv.slice(i + 1))];
  });
}

const renderQuery = (pairs: Array<[string, string | null]>) => pairs.map(([k, v]) => (v === null ? escapeUri(k) : `${escapeUri(k)}=${escapeUri(v)}`)).join('&');

/** The request context templates see (mkReqTransformCtx). */
export function requestContext(req: WebhookRequest, session: SessionVariables | undefined): Record<string, Json> {
  const { query } = splitUrl(req.url);
  return {
    $body: decodeJson(req.body),
    $session_variables: session ?? null,
    $query_params: query === undefined ? [] : parseQuery(query),
    $base_url: req.url,
  };
}

/** Form body: `key=value` pairs, keys sorted, a value rendering "null" left out (foldFormEncoded). */
function formBody(form: Array<[string, string]>, bindings: Record<string, Json>, session: SessionVariables | undefined): string {
  const values = allScalars(form.map(([, t]) => t), bindings, session);
  return form
    .map(([k], i) => [k, values[i]!] as const)
    .filter(([, v]) => v !== 'null')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${escapeUri(k)}=${escapeUri(v)}`)
    .join('&');
}

/** applyRequestTransform. Throws TransformError. */
export function applyRequestTransform(rt: RequestTransform, req: WebhookRequest, session: SessionVariables | undefined): WebhookRequest {
  const ctx = requestContext(req, session);
  const out: WebhookRequest = { ...req, headers: [...req.headers] };
  if (rt.method !== undefined) out.method = rt.method;
  let { base, query } = splitUrl(req.url);
  if (rt.url !== undefined) {
    const result = kriti(wrap(rt.url), ctx, session);
    if (typeof result !== 'string') throw transformationError(`URL Transforms must produce a JSON String: ${JSON.stringify(result)}`);
    if (!URL.canParse(result)) throw transformationError(`Invalid URL: ${result}`);
    ({ base, query } = splitUrl(result));
  }
  if (rt.body) {
    if (rt.body.action === 'remove') out.body = '';
    else if (rt.body.action === 'transform') out.body = JSON.stringify(kriti(rt.body.template, ctx, session));
    else out.body = formBody(rt.body.form, ctx, session);
  }
  if (rt.queryParams?.kind === 'pairs') {
    const keys = allScalars(rt.queryParams.pairs.map(([k]) => k), ctx, session);
    const vals = allScalars(rt.queryParams.pairs.flatMap(([, v]) => (v === null ? [] : [v])), ctx, session);
    let vi = 0;
    const pairs: Array<[string, string | null]> = [];
    // The pairs in key order, as Hasura reads them from its (key-ordered) JSON object.
    rt.queryParams.pairs.forEach(([, v], i) => {
      const val = v === null ? null : vals[vi++]!;
      if (keys[i] !== 'null' && val !== 'null') pairs.push([keys[i]!, val]);
    });
    pairs.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    query = pairs.length ? renderQuery(pairs) : undefined;
  } else if (rt.queryParams?.kind === 'template') {
    const [resolved] = allScalars([rt.queryParams.template], ctx, session);
    const pairs = parseQuery(resolved!);
    query = pairs.length ? renderQuery(pairs) : undefined;
  }
  out.url = query === undefined ? base : `${base}?${query}`;
  if (rt.headers) {
    const values = allScalars(rt.headers.add.map(([, t]) => t), ctx, session);
    const added = rt.headers.add.map(([k], i) => [k.toLowerCase(), values[i]!] as [string, string]).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    // add_headers adds or replaces (the docs' "add or replace"); remove_headers removes, case-insensitively.
    const drop = new Set([...rt.headers.remove.map((h) => h.toLowerCase()), ...added.map(([k]) => k)]);
    out.headers = [...out.headers.filter(([k]) => !drop.has(k.toLowerCase())), ...added];
  }
  return out;
}

/** applyResponseTransform: the new response body (JSON text). Throws TransformError. */
export function applyResponseTransform(
  rt: ResponseTransform,
  ctx: { body: string; status: number; request: WebhookRequest | undefined; session: SessionVariables | undefined },
): string {
  if (!rt.body) return ctx.body;
  // $request is the request transform's context (RequestTransformCtx's JSON: body,
  // session_variables, base_url, query_params), null when the trigger has no request transform.
  const req = ctx.request ? requestContext(ctx.request, ctx.session) : undefined;
  const bindings: Record<string, Json> = {
    $body: decodeJson(ctx.body),
    $request: req ? { body: req.$body!, session_variables: req.$session_variables!, base_url: req.$base_url!, query_params: req.$query_params! } : null,
    $response: { status: ctx.status },
    $session_variables: ctx.session ?? null,
  };
  if (rt.body.action === 'remove') return 'null';
  if (rt.body.action === 'transform') return JSON.stringify(kriti(rt.body.template, bindings, ctx.session));
  return JSON.stringify(formBody(rt.body.form, bindings, ctx.session));
}

/** Lower-case names, as `first CI.foldedCase` renders request headers. */
export const foldedHeaders = (headers: Array<[string, string]>) => headers.map(([k, v]) => [k.toLowerCase(), v]);

/** decodeBody: JSON, else the raw text as a string (a form body), '' for none. */
export function decodeBody(body: string): Json {
  if (body === '') return '';
  try {
    return JSON.parse(body) as Json;
  } catch {
    return body;
  }
}
