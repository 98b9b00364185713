/**
 * Names Hasura parses as `NonEmptyText` (Data/Text/NonEmpty.hs: `parseJSON` fails with "empty
 * string not allowed"): relationship, role, event trigger, collection, remote schema, computed
 * field and inherited role names. /v1/query's `RQLQuery` is derived with aeson's `TaggedObject
 * "type" "args"`, which does not add `args` to the error path, so the path is `$.name`, `$.role`
 * (upstream v1/non_empty_text/*.yaml). The check runs before the command, as the parse does.
 */
import { badRequest } from '../errors.ts';

const nonEmptyKeys: Record<string, readonly string[]> = {
  create_object_relationship: ['name'],
  create_array_relationship: ['name'],
  create_remote_relationship: ['name'],
  rename_relationship: ['new_name'],
  create_select_permission: ['role'],
  create_insert_permission: ['role'],
  create_update_permission: ['role'],
  create_delete_permission: ['role'],
  create_event_trigger: ['name'],
  create_query_collection: ['name'],
  add_remote_schema: ['name'],
  add_computed_field: ['name'],
  add_inherited_role: ['role_name'],
  create_function_permission: ['role'],
};

/** Throws parse-failed at `$.<key>` when a NonEmptyText argument of a /v1/query command is "". */
export function checkNonEmptyNames(type: string, args: unknown): void {
  const keys = nonEmptyKeys[type];
  if (!keys || !args || typeof args !== 'object' || Array.isArray(args)) return;
  for (const k of keys) {
    if ((args as Record<string, unknown>)[k] === '') throw badRequest('parse-failed', 'empty string not allowed', `$.${k}`);
  }
}
