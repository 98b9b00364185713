/**
 * `POST /v1/metadata`, `POST /v1/query`, `POST /v2/query` (docs/research/hasura-v2.md §C.2): admin only — any other
 * role gets 400 `access-denied` "restricted access : admin only", except for /v1/query and /v2/query
 * data queries, which run under the role's permissions; a missing or wrong admin secret
 * 401 (App.hs `onlyAdmin`, validate.py `test_forbidden_when_admin_secret_reqd` expects 401/404).
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { normalizeHeaders, type Authenticator } from '../auth/session.ts';
import { QErr, adminOnly, invalidJsonMessage } from '../errors.ts';
import { executeAdmin, roleMayRun, type AdminApi } from '../admin/commands.ts';
import type { MetadataService } from '../admin/service.ts';

export interface AdminRouteDeps {
  auth: Authenticator;
  service: MetadataService;
  log: { error(obj: unknown, msg?: string): void };
}

const send = (reply: FastifyReply, status: number, body: unknown) =>
  reply.code(status).header('content-type', 'application/json; charset=utf-8').send(JSON.stringify(body));

export function registerAdminRoutes(app: FastifyInstance, deps: AdminRouteDeps): void {
  const route = (path: string, api: AdminApi) =>
    app.post(path, async (req, reply) => {
      let admin = false;
      try {
        const { session } = await deps.auth.authenticate(normalizeHeaders(req.headers));
        admin = session.role === 'admin';
        if (!admin && api === 'metadata') throw adminOnly();
        let body: unknown;
        try {
          body = JSON.parse(typeof req.body === 'string' ? req.body : '');
        } catch (err) {
          throw new QErr('invalid-json', invalidJsonMessage(err), '$');
        }
        // Other roles may run /v1/query and /v2/query data queries under their permissions (commands.ts `roleMayRun`).
        if (!admin && !roleMayRun(api, body)) throw adminOnly();
        return send(reply, 200, await executeAdmin(deps.service, api, body, session));
      } catch (err) {
        // A PostgreSQL error's statement and detail (`internal`) are the admin's to see only.
        if (err instanceof QErr) return send(reply, err.status, err.body(admin));
        deps.log.error({ err }, `${path} failed`);
        return send(reply, 500, { path: '$', error: 'an unexpected error occurred', code: 'unexpected' });
      }
    });
  route('/v1/metadata', 'metadata');
  route('/v1/query', 'query');
  route('/v2/query', 'v2query');
}
