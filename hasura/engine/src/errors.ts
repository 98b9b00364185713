/**
 * The engine's one error type: Hasura's `QErr` (server/lib/hasura-base/src/Hasura/Base/Error.hs:
 * `qePath`, `qeStatus`, `qeError`, `qeCode`, `qeInternal`; docs/research/hasura-v2.md §B.4). Every refusal — of a
 * GraphQL operation, an admin command, a credential — is a QErr; the HTTP layer only chooses the
 * encoding and whether the status is kept:
 *   - `/v1/metadata`, `/v1/query`, `/v2/query`: `encodeQErr` `{"path", "error", "code", "internal"?}`
 *     with `status` (`body()`);
 *   - GraphQL: `encodeGQErr` `{"extensions": {"path", "code", "internal"?}, "message"}` (`toJSON()`),
 *     HTTP 200 on `/v1/graphql` (App.hs `allMod200`), `status` on `/v1alpha1/graphql`.
 * `internal` reaches the admin only: `toJSON()` (also what `JSON.stringify` calls) leaves it out.
 */
import type { GraphQLResponse, HasuraError } from './contract.ts';

/** A QErr's HTTP status by code, when the raiser gives none (Error.hs `err400`, `err404`, `err409`, `err500`…). */
export function statusForCode(code: string): number {
  switch (code) {
    case 'unexpected':
      return 500;
    case 'not-found':
      return 404;
    case 'conflict':
      return 409;
    case 'rate-limit-exceeded':
      return 429;
    default:
      return 400;
  }
}

export class QErr extends Error {
  readonly code: string;
  readonly path: string;
  readonly internal: unknown;
  readonly status: number;
  constructor(code: string, message: string, path = '$', internal?: unknown, status = statusForCode(code)) {
    super(message);
    this.name = 'QErr';
    this.code = code;
    this.path = path;
    this.internal = internal;
    this.status = status;
  }

  /** The same error at another path (e.g. a compile error re-raised at the root field's path). */
  at(path: string, status = this.status): QErr {
    return new QErr(this.code, this.message, path, this.internal, status);
  }

  /**
   * The admin APIs' encoding (`encodeQErr`). `internal` only for the admin (Hasura's
   * `HASURA_GRAPHQL_ADMIN_INTERNAL_ERRORS` default; other roles reach /v1/query data queries).
   */
  body(withInternal = true): Record<string, unknown> {
    return { path: this.path, error: this.message, code: this.code, ...(withInternal && this.internal !== undefined ? { internal: this.internal } : {}) };
  }

  /** The GraphQL encoding (`encodeGQErr`); Hasura writes `extensions` before `message`. */
  toJSON(withInternal = false): HasuraError {
    const extensions: HasuraError['extensions'] = { path: this.path, code: this.code };
    if (withInternal === true && this.internal !== undefined) extensions.internal = this.internal;
    return { extensions, message: this.message };
  }
}

// ── the refusals several places make ───────────────────────────────────────────────────────────

export const validationFailed = (path: string, message: string): QErr => new QErr('validation-failed', message, path);

/** An admin-API refusal: 400, at `$.args` unless said otherwise (most RQL errors point there). */
export const badRequest = (code: string, message: string, path = '$.args'): QErr => new QErr(code, message, path, undefined, 400);
export const notExists = (message: string): QErr => badRequest('not-exists', message);
export const alreadyExists = (message: string): QErr => badRequest('already-exists', message);
/** App.hs `onlyAdmin`. */
export const adminOnly = (): QErr => badRequest('access-denied', 'restricted access : admin only');

/** A credential refusal (Auth.hs): 401 for the admin secret, 400 (`invalid-jwt`, …) otherwise. */
export const authError = (status: number, code: string, message: string): QErr => new QErr(code, message, '$', undefined, status);
export const adminSecretRequired = (): QErr => authError(401, 'access-denied', 'x-hasura-admin-secret/x-hasura-access-key required, but not found');
export const adminSecretInvalid = (): QErr => authError(401, 'access-denied', 'invalid x-hasura-admin-secret/x-hasura-access-key');

// ── GraphQL response bodies ─────────────────────────────────────────────────────────────────────

export const gqlError = (code: string, message: string, path = '$'): HasuraError => new QErr(code, message, path).toJSON();
export const gqlErrors = (code: string, message: string, path = '$'): GraphQLResponse => ({ errors: [gqlError(code, message, path)] });

/** Hasura's catch-all for unknown paths (App.hs `hookAny`: err404 NotFound "resource does not exist"). */
export const notFoundBody = new QErr('not-found', 'resource does not exist').body();

/** Aeson-style parse error text for a body that is not JSON. */
export function invalidJsonMessage(err: unknown): string {
  const m = err instanceof Error ? err.message : String(err);
  return `Error in $: Failed reading: not a valid json value${m ? ` (${m})` : ''}`;
}

/** Aeson's name for a JSON value's type, as its `parsing X failed, expected …, but encountered <kind>` messages print it. */
export function jsonKind(v: unknown): string {
  if (v === null) return 'Null';
  if (Array.isArray(v)) return 'Array';
  switch (typeof v) {
    case 'string':
      return 'String';
    case 'number':
      return 'Number';
    case 'boolean':
      return 'Boolean';
    default:
      return 'Object';
  }
}
