/**
 * One webhook delivery as Hasura's event and scheduled trigger processors make it (upstream
 * Eventing/HTTP.hs, Hasura/HTTP.hs `addDefaultHeaders`): a JSON POST with `Content-Type:
 * application/json` and `User-Agent: hasura-graphql-engine/<version>` (those two replace any
 * configured header of the same name), the configured headers (value or value_from_env), a
 * response timeout, and the invocation record Hasura writes (`WebhookRequest`, `Response`:
 * `webhook_response` for 2xx, `client_error` otherwise, request headers logged as configured so a
 * value_from_env secret is logged by its variable name).
 *
 * Redirects are not followed: a 3xx is a failed delivery, as every status >= 300 is for Hasura
 * (`isClientError`). The response body kept for the log is bounded.
 */
import http from 'node:http';
import https from 'node:https';
import type { HeaderConf } from './model.ts';
import { applyRequestTransform, applyResponseTransform, parseRequestTransform, parseResponseTransform, TransformError, type RequestTransform, type ResponseTransform, type SessionVariables, type WebhookRequest } from '../transforms/transform.ts';

export const HASURA_USER_AGENT = 'hasura-graphql-engine/v2.44.0';
const MAX_LOGGED_BODY = 64 * 1024;

export type Env = Record<string, string | undefined>;

export interface WebhookOutcome {
  /** HTTP status when the webhook answered; undefined for a connection error or timeout. */
  status: number | undefined;
  ok: boolean;
  /** `Retry-After` in whole positive seconds (`parseRetryHeader`: anything else is ignored). */
  retryAfterSeconds: number | undefined;
  /** The invocation's request and response, as Hasura records them. */
  request: unknown;
  response: unknown;
  /** Why the delivery failed, for logs (never sent anywhere). */
  error?: string;
  /** The request transform failed: Hasura marks the event failed at once, without retries. */
  transformFailed?: boolean;
}

/** A trigger's transforms (stored as metadata JSON, parsed by transforms/transform.ts). */
export interface Transforms {
  request?: RequestTransform | undefined;
  response?: ResponseTransform | undefined;
  session?: SessionVariables | undefined;
}

export class ConfigError extends Error {}

/**
 * A trigger's stored transforms, parsed (metadata from files is not validated by the API: a
 * transform that does not parse fails each delivery as a configuration error would).
 */
export function storedTransforms(conf: { request_transform?: unknown; response_transform?: unknown }): Transforms | ConfigError {
  try {
    const out: Transforms = {};
    if (conf.request_transform !== undefined && conf.request_transform !== null) out.request = parseRequestTransform(conf.request_transform);
    if (conf.response_transform !== undefined && conf.response_transform !== null) out.response = parseResponseTransform(conf.response_transform);
    return out;
  } catch (err) {
    return new ConfigError(`invalid transform: ${(err as Error).message}`);
  }
}

/** Resolves configured headers; a missing environment variable is a configuration error. */
export function resolveHeaders(conf: HeaderConf[] | undefined, env: Env): Array<[string, string]> {
  return (conf ?? []).map((h) => {
    if (h.value !== undefined) return [h.name, h.value];
    const v = env[h.value_from_env ?? ''];
    if (v === undefined) throw new ConfigError(`environment variable "${h.value_from_env}" not set`);
    return [h.name, v];
  });
}

/**
 * The webhook URL: `webhook_from_env`, or `webhook` with its `{{ENV_VAR}}` templates filled in
 * (InputWebhook, RQL/Types/Common.hs: the upstream tests write `webhook: "{{EVENT_WEBHOOK_HANDLER}}"`).
 */
export function resolveWebhook(conf: { webhook?: string | undefined; webhook_from_env?: string | undefined }, env: Env): string {
  if (typeof conf.webhook === 'string') {
    return conf.webhook.replace(/\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g, (_m, name: string) => {
      const v = env[name];
      if (v === undefined) throw new ConfigError(`environment variable "${name}" not set`);
      return v;
    });
  }
  const v = env[conf.webhook_from_env ?? ''];
  if (v === undefined) throw new ConfigError(`environment variable "${conf.webhook_from_env}" not set`);
  return v;
}

const isDefault = (name: string) => ['content-type', 'user-agent'].includes(name.toLowerCase());

export function parseRetryAfter(v: string | null): number | undefined {
  if (v === null || !/^\s*\d+\s*$/.test(v)) return undefined;
  const n = Number(v);
  return n > 0 ? n : undefined;
}

interface Answer {
  status: number;
  headers: Array<[string, string]>;
  /** The body, at most MAX_LOGGED_BODY bytes of it (the rest is not read). */
  text: string;
}

/**
 * One HTTP exchange with node:http, which sends exactly the headers given: fetch (undici) adds a
 * `user-agent` of its own when there is none, and a request transform's remove_headers must
 * leave it out (upstream check_event_transformed asserts it is absent). Redirects are not followed.
 */
function send(url: string, method: string, headers: Array<[string, string]>, body: string | undefined, signal: AbortSignal): Promise<Answer> {
  return new Promise<Answer>((resolve, reject) => {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      reject(Object.assign(new Error(`Invalid URL: ${url}`), { code: 'InvalidUrlException' }));
      return;
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') {
      reject(Object.assign(new Error(`unsupported URL scheme: ${u.protocol}`), { code: 'InvalidUrlException' }));
      return;
    }
    const flat: Record<string, string> = {};
    for (const [k, v] of headers) {
      const key = k.toLowerCase();
      flat[key] = flat[key] === undefined ? v : `${flat[key]}, ${v}`;
    }
    if (body !== undefined) flat['content-length'] = String(Buffer.byteLength(body));
    const req = (u.protocol === 'https:' ? https : http).request(u, { method, headers: flat, signal }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const done = () => {
        const raw = res.rawHeaders;
        const list: Array<[string, string]> = [];
        for (let i = 0; i + 1 < raw.length; i += 2) list.push([raw[i]!.toLowerCase(), raw[i + 1]!]);
        resolve({ status: res.statusCode ?? 0, headers: list, text: Buffer.concat(chunks).subarray(0, MAX_LOGGED_BODY).toString('utf8') });
      };
      res.on('data', (c: Buffer) => {
        chunks.push(c);
        size += c.length;
        if (size >= MAX_LOGGED_BODY) {
          res.destroy();
          done();
        }
      });
      res.on('end', done);
      res.on('error', (err) => (size >= MAX_LOGGED_BODY ? undefined : reject(err)));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * POSTs `payload` to `url`. `version` is the invocation log's (`invocationVersionET` "2" for event
 * triggers, `invocationVersionST` "1" for scheduled ones).
 */
export async function postWebhook(opts: {
  url: string;
  payload: unknown;
  headers: Array<[string, string]>;
  headerConf: HeaderConf[] | undefined;
  timeoutMs: number;
  version: '1' | '2';
  signal?: AbortSignal;
  transforms?: Transforms;
}): Promise<WebhookOutcome> {
  const body = JSON.stringify(opts.payload);
  const sent: Array<[string, string]> = [['Content-Type', 'application/json'], ['User-Agent', HASURA_USER_AGENT], ...opts.headers.filter(([n]) => !isDefault(n))];
  const logged = sent.map(([name, value]) => opts.headerConf?.find((h) => h.name === name) ?? { name, value });
  const request = { payload: opts.payload, headers: logged, version: opts.version };
  const original: WebhookRequest = { method: 'POST', url: opts.url, headers: sent, body };
  let final = original;
  const t = opts.transforms;
  if (t?.request) {
    try {
      // mkRequest: the transform sees the request as it would be sent, session from the event.
      final = applyRequestTransform(t.request, original, t.session);
    } catch (err) {
      if (!(err instanceof TransformError)) throw err;
      const message = JSON.stringify(err.bundle);
      return { status: undefined, ok: false, retryAfterSeconds: undefined, request, response: { type: 'client_error', data: { message }, version: opts.version }, error: `request transform failed: ${message}`, transformFailed: true };
    }
  }
  const signals = [AbortSignal.timeout(Math.max(1, opts.timeoutMs))];
  if (opts.signal) signals.push(opts.signal);
  try {
    const noBody = (final.method.toUpperCase() === 'GET' || final.method.toUpperCase() === 'HEAD') && final.body === '';
    const res = await send(final.url, final.method, final.headers, noBody ? undefined : final.body, AbortSignal.any(signals));
    let text = res.text;
    const ok = res.status >= 200 && res.status < 300;
    const headers = res.headers.map(([name, value]) => ({ name, value }));
    if (ok && t?.response) {
      try {
        text = applyResponseTransform(t.response, { body: text, status: res.status, request: t.request ? original : undefined, session: t.session });
      } catch (err) {
        if (!(err instanceof TransformError)) throw err;
        // invokeRequest: a failed response transform is an HTTP error (HOther), retried like one.
        const message = JSON.stringify(err.bundle);
        return { status: 500, ok: false, retryAfterSeconds: undefined, request, response: { type: 'client_error', data: { message }, version: opts.version }, error: `response transform failed: ${message}` };
      }
    }
    const response = ok
      ? { type: 'webhook_response', data: { body: text, headers, status: res.status }, version: opts.version }
      : { type: 'client_error', data: { message: text }, version: opts.version };
    return {
      status: res.status,
      ok,
      retryAfterSeconds: ok ? undefined : parseRetryAfter(res.headers.find(([n]) => n === 'retry-after')?.[1] ?? null),
      request,
      response,
      ...(ok ? {} : { error: `webhook answered ${res.status}` }),
    };
  } catch (err) {
    const e = err as Error & { code?: string };
    const timedOut = e.name === 'TimeoutError' || e.name === 'AbortError';
    const message = timedOut ? 'ResponseTimeout' : (e.code ?? e.message);
    // HClient: Hasura logs the http-client exception; status unknown.
    return { status: undefined, ok: false, retryAfterSeconds: undefined, request, response: { type: 'client_error', data: { message }, version: opts.version }, error: message };
  }
}
