/**
 * An authentication failure as Hasura reports it: a QErr with an HTTP status, a code and a message
 * (server/lib/hasura-base/src/Hasura/Base/Error.hs). `/v1/graphql` turns the status into 200
 * (App.hs `allMod200`), the admin APIs keep it.
 */
export class AuthError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = 'AuthError';
    this.status = status;
    this.code = code;
  }
}

export const adminSecretRequired = () =>
  new AuthError(401, 'access-denied', 'x-hasura-admin-secret/x-hasura-access-key required, but not found');
export const adminSecretInvalid = () => new AuthError(401, 'access-denied', 'invalid x-hasura-admin-secret/x-hasura-access-key');
