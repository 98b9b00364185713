/**
 * `pg_create_function_permission` / `pg_drop_function_permission` (Function/API.hs
 * `runCreateFunctionPermission`, docs api-reference/metadata-api/custom-functions.mdx): a role
 * listed in a tracked function's `permissions` may call it — needed for functions exposed as
 * mutations, and for query functions when function permissions are not inferred. Refusals carry
 * Hasura's codes and text. Not checked here: that the role can select from the returning table
 * (Hasura's `not-supported` refusal needs the schema cache; without it the field is simply absent).
 */
import type { Metadata } from '../contract.ts';
import { findSource, parseTableName, sameTable, tableText, type QualifiedTable } from '../metadata/model.ts';
import { alreadyExists, badRequest, notExists } from '../errors.ts';

type Args = Record<string, unknown>;
type FunctionEntry = { function: unknown; permissions?: Array<{ role: string }> };

function entryOf(m: Metadata, args: Args): { entry: FunctionEntry; fn: QualifiedTable; role: string; source: string } {
  const source = typeof args.source === 'string' ? args.source : 'default';
  const fn = parseTableName(args.function);
  if (!fn) throw badRequest('parse-failed', 'expected a function name');
  if (typeof args.role !== 'string' || !args.role) throw badRequest('parse-failed', 'expected a role name');
  const list = (findSource(m, source)?.functions ?? []) as FunctionEntry[];
  const entry = list.find((f) => { const t = parseTableName(f.function); return !!t && sameTable(t, fn); });
  if (!entry) throw notExists(`function ${JSON.stringify(tableText(fn))} not found in source: ${source}`);
  return { entry, fn, role: args.role, source };
}

const createFunctionPermission = (m: Metadata, args: Args): void => {
  const { entry, fn, role, source } = entryOf(m, args);
  const perms = entry.permissions ?? [];
  if (perms.some((p) => p.role === role)) throw alreadyExists(`permission of role ${JSON.stringify(role)} already exists for function ${JSON.stringify(tableText(fn))} in source: ${source}`);
  entry.permissions = [...perms, { role }];
};

const dropFunctionPermission = (m: Metadata, args: Args): void => {
  const { entry, fn, role, source } = entryOf(m, args);
  const perms = entry.permissions ?? [];
  if (!perms.some((p) => p.role === role)) throw notExists(`permission of role ${JSON.stringify(role)} does not exist for function ${JSON.stringify(tableText(fn))} in source: ${source}`);
  entry.permissions = perms.filter((p) => p.role !== role);
  if (entry.permissions.length === 0) delete entry.permissions;
};

export const functionPermissionOps = {
  create_function_permission: createFunctionPermission,
  drop_function_permission: dropFunctionPermission,
};
