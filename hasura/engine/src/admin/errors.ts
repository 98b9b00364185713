/**
 * Errors of the admin APIs (/v1/metadata, /v1/query, /v2/query) in Hasura's QErr JSON:
 * `{"path": "$.args", "error": "...", "code": "..."}` with the QErr's status
 * (lib/hasura-base/src/Hasura/Base/Error.hs `encodeQErr`; research §B.4 "HTTP status rules").
 */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly path: string;
  readonly internal: unknown;
  constructor(status: number, code: string, message: string, path = '$.args', internal?: unknown) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.path = path;
    this.internal = internal;
  }

  body(): Record<string, unknown> {
    return { path: this.path, error: this.message, code: this.code, ...(this.internal !== undefined ? { internal: this.internal } : {}) };
  }
}

export const badRequest = (code: string, message: string, path = '$.args') => new ApiError(400, code, message, path);
export const notExists = (message: string) => badRequest('not-exists', message);
export const alreadyExists = (message: string) => badRequest('already-exists', message);
export const adminOnly = () => badRequest('access-denied', 'restricted access : admin only');
