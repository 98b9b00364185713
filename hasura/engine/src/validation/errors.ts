import type { HasuraError } from '../contract.ts';

/** An error answered to the client in Hasura's shape (`Hasura/Base/Error.hs`; research §B.4). */
export class QueryError extends Error {
  constructor(readonly code: string, message: string, readonly path = '$', readonly internal?: unknown) {
    super(message);
  }
  toJSON(withInternal = false): HasuraError {
    const extensions: HasuraError['extensions'] = { path: this.path, code: this.code };
    if (withInternal && this.internal !== undefined) extensions.internal = this.internal;
    // Hasura writes `extensions` before `message`.
    return { extensions, message: this.message };
  }
}

export const validationFailed = (path: string, message: string): QueryError => new QueryError('validation-failed', message, path);

/** Hasura's `describeValue` wording for a mismatched input (GraphQL/Parser/Internal/Input.hs). */
export function describe(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return 'a string';
  if (typeof v === 'boolean') return 'a boolean';
  if (typeof v === 'number') return Number.isInteger(v) ? 'an integer' : 'a float';
  if (Array.isArray(v)) return 'a list';
  return 'an object';
}
