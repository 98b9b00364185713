/**
 * Webhook mode (docs/docs/auth/authentication/webhook.mdx; Server/Auth/WebHook.hs): GET forwards
 * the client's headers minus the common ones; POST sends `{headers, request}`. 200 + JSON of
 * session variables (with `X-Hasura-Role`) authorizes; 401 denies; anything else is an error.
 */
import type { GraphQLRequest } from '../contract.ts';
import { authError } from '../errors.ts';
import type { AuthResult } from './jwt.ts';

/** Headers the GET hook never receives (WebHook.hs `commonClientHeadersIgnored`). */
const ignored = new Set([
  'content-length', 'content-md5', 'user-agent', 'host', 'origin', 'referer', 'accept', 'accept-encoding',
  'accept-language', 'accept-datetime', 'cache-control', 'connection', 'dnt', 'content-type',
  'upgrade', 'sec-websocket-key', 'sec-websocket-version', 'sec-websocket-extensions', 'sec-websocket-protocol',
]);

const invalidResponse = () => authError(500, 'unexpected', 'Invalid response from authorization hook');

export class WebhookAuth {
  private readonly url: string;
  private readonly mode: 'GET' | 'POST';
  constructor(url: string, mode: 'GET' | 'POST') {
    this.url = url;
    this.mode = mode;
  }

  async authenticate(headers: Record<string, string>, request?: GraphQLRequest | GraphQLRequest[]): Promise<AuthResult> {
    const forwarded: Record<string, string> = {};
    for (const [k, v] of Object.entries(headers)) if (!ignored.has(k)) forwarded[k] = v;
    let res: Response;
    try {
      res =
        this.mode === 'GET'
          ? await fetch(this.url, { method: 'GET', headers: forwarded })
          : await fetch(this.url, {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify({ headers: forwarded, request: request ?? null }),
            });
    } catch {
      throw authError(500, 'unexpected', 'webhook authentication request failed');
    }
    if (res.status === 401) throw authError(401, 'access-denied', 'Authentication hook unauthorized this request');
    if (res.status !== 200) throw invalidResponse();
    let body: unknown;
    try {
      body = await res.json();
    } catch {
      throw invalidResponse();
    }
    if (body === null || typeof body !== 'object' || Array.isArray(body)) throw invalidResponse();
    const vars: Record<string, string> = {};
    for (const [k, v] of Object.entries(body as Record<string, unknown>)) {
      if (!k.toLowerCase().startsWith('x-hasura-')) continue;
      vars[k.toLowerCase()] = typeof v === 'string' ? v : JSON.stringify(v);
    }
    const role = vars['x-hasura-role'];
    if (role === undefined) throw authError(500, 'unexpected', 'missing x-hasura-role key in webhook response');
    return { session: { role, vars, isAdmin: false }, expiresAt: expiryOf(res.headers, body as Record<string, unknown>) };
  }
}

/** `Expires`/`Cache-Control: max-age` of the hook's answer bound the session (websockets). */
function expiryOf(headers: Headers, body: Record<string, unknown>): number | undefined {
  const expiresField = body['Expires'] ?? body['expires'];
  if (typeof expiresField === 'string' && Number.isFinite(Date.parse(expiresField))) return Date.parse(expiresField);
  const cc = headers.get('cache-control');
  const m = cc ? /max-age=(\d+)/i.exec(cc) : null;
  if (m) return Date.now() + Number(m[1]) * 1000;
  const exp = headers.get('expires');
  if (exp && Number.isFinite(Date.parse(exp))) return Date.parse(exp);
  return undefined;
}
