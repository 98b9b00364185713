/**
 * The `test_webhook_transform` metadata command (docs/docs/api-reference/metadata-api/
 * manage-metadata.mdx "test_webhook_transform"; upstream RQL/DDL/Metadata.hs
 * `runTestWebhookTransform`, Metadata/Types.hs `TestWebhookTransform`): the request a webhook
 * would get after the request transform, computed without sending anything. The URL's
 * `{{ENV_VAR}}` templates read the sample `env` of the request, never the engine's environment.
 */
import { QErr, badRequest } from '../errors.ts';
import type { Json } from './kriti.ts';
import {
  applyRequestTransform, decodeBody, foldedHeaders, parseRequestTransform, parseResponseTransform, TransformError, validateTransforms,
  type SessionVariables,
} from './transform.ts';

const notFound = (message: string) => badRequest('not-found', message);

/** interpolateFromEnv: `{{NAME}}` replaced from the sample environment. */
function interpolate(url: string, env: Record<string, unknown>): string {
  return url.replace(/\{\{([^}]+)\}\}/g, (_m, name: string) => {
    const v = env[name];
    if (typeof v !== 'string') {
      throw notFound(
        `Missing Env Var: ${name}. For security reasons when testing request options real environment variable values are not available. Please enter a mock value for ${name} in the Sample Env Variables list. See https://hasura.io/docs/latest/graphql/core/actions/rest-connectors/#action-transforms-sample-context`,
      );
    }
    return v;
  });
}

export function testWebhookTransform(args: Record<string, unknown>): unknown {
  const env = (typeof args.env === 'object' && args.env !== null ? args.env : {}) as Record<string, unknown>;
  if (!('webhook_url' in args)) throw badRequest('parse-failed', 'key "webhook_url" not found');
  if (!('body' in args)) throw badRequest('parse-failed', 'key "body" not found');
  if (!('request_transform' in args)) throw badRequest('parse-failed', 'key "request_transform" not found');
  const rawHeaders = args.request_headers ?? [];
  if (!Array.isArray(rawHeaders) || !rawHeaders.every((h) => Array.isArray(h) && h.length === 2 && h.every((x) => typeof x === 'string'))) {
    throw badRequest('parse-failed', 'expected a list of [name, value] pairs', '$.args.request_headers');
  }
  const request = parseRequestTransform(args.request_transform);
  const response = args.response_transform === undefined || args.response_transform === null ? undefined : parseResponseTransform(args.response_transform);
  const session = args.session_variables === undefined || args.session_variables === null ? undefined : (args.session_variables as SessionVariables);
  validateTransforms(request, response);

  const hook = args.webhook_url;
  let url: string;
  if (typeof hook === 'string') url = interpolate(hook, env);
  else if (hook && typeof hook === 'object' && typeof (hook as { from_env?: unknown }).from_env === 'string') {
    const v = env[(hook as { from_env: string }).from_env];
    if (typeof v !== 'string') throw notFound('Missing Env Var');
    url = v;
  } else throw badRequest('parse-failed', 'expected a URL string or {"from_env": NAME}', '$.args.webhook_url');
  // HTTP.mkRequestEither: an absolute http(s) URL; it prints with its path ("/" when empty).
  let initial: string;
  try {
    const u = new URL(url);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`Invalid URL: ${url}`);
    initial = u.href;
  } catch {
    throw new QErr('validation-failed', 'request transform validation failed', '$.args', [{ error_code: 'Request Initialization Error', message: `InvalidUrlException "${url}" "Invalid URL"` }], 400);
  }
  try {
    const out = applyRequestTransform(request, { method: 'GET', url: initial, headers: rawHeaders as Array<[string, string]>, body: JSON.stringify(args.body as Json) }, session);
    return { webhook_url: out.url, method: out.method, headers: foldedHeaders(out.headers), body: decodeBody(out.body) };
  } catch (err) {
    if (err instanceof TransformError) throw new QErr('validation-failed', 'request transform validation failed', '$.args', err.bundle, 400);
    throw err;
  }
}
