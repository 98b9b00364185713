/**
 * Error bodies of the GraphQL endpoints (`{"errors": [{extensions: {path, code}, message}]}`,
 * Hasura's `encodeGQErr`) and the status each endpoint gives them (App.hs: `/v1/graphql` maps
 * every status to 200 — `allMod200` — unless HASURA_GRAPHQL_PRESERVE_401_ERRORS keeps 401;
 * `/v1alpha1/graphql` keeps the QErr status).
 */
import type { GraphQLResponse, HasuraError } from '../contract.ts';

export const gqlError = (code: string, message: string, path = '$'): HasuraError => ({ extensions: { path, code }, message });

export const gqlErrors = (code: string, message: string, path = '$'): GraphQLResponse => ({ errors: [gqlError(code, message, path)] });

/** A QErr's HTTP status by code, for /v1alpha1/graphql (lib/hasura-base Error.hs `err400`/`err500`…). */
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

/** Hasura's catch-all for unknown paths (App.hs `hookAny`: err404 NotFound "resource does not exist"). */
export const notFoundBody = { path: '$', error: 'resource does not exist', code: 'not-found' };

/** Aeson-style parse error text for a body that is not JSON. */
export function invalidJsonMessage(err: unknown): string {
  const m = err instanceof Error ? err.message : String(err);
  return `Error in $: Failed reading: not a valid json value${m ? ` (${m})` : ''}`;
}
