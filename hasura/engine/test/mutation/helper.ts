import path from 'node:path';
import type { Metadata, Session } from '../../src/contract.ts';
import { loadMetadataDir } from '../../src/metadata/files.ts';
import { harness, type Harness } from '../query/helper.ts';

export { admin, user } from '../query/helper.ts';
export { USERS } from '../query/fixtures.ts';

/** The project's hasura/metadata/ (links tables with insert/update/delete permissions for `user`). */
export function projectMetadata(): Metadata {
  return loadMetadataDir(path.resolve(import.meta.dirname, '../../../metadata'));
}

export const readonly = (id: string): Session => ({ role: 'user_readonly', vars: { 'x-hasura-role': 'user_readonly', 'x-hasura-user-id': id }, isAdmin: false });

export async function mutationHarness(md: Metadata = projectMetadata()): Promise<Harness> {
  return harness(md);
}

/** `data` of a response, failing with the errors when there is none. */
export function data<T = Record<string, unknown>>(r: { data?: unknown; errors?: unknown }): T {
  if (!r.data) throw new Error(`expected data, got ${JSON.stringify(r.errors)}`);
  return r.data as T;
}

export function error(r: { data?: unknown; errors?: Array<{ message: string; extensions: { code: string; path: string } }> }): { message: string; code: string; path: string } {
  const e = r.errors?.[0];
  if (!e || r.data !== undefined) throw new Error(`expected an error, got ${JSON.stringify(r)}`);
  return { message: e.message, code: e.extensions.code, path: e.extensions.path };
}
