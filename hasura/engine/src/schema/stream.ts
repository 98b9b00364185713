/**
 * Streaming subscription root fields, `<id>_stream`, as Hasura v2 builds them
 * (GraphQL/Schema/SubscriptionStream.hs `selectStreamTable`, Build.hs
 * `buildTableStreamingSubscriptionFields`; docs subscriptions/postgres/streaming/index.mdx):
 *
 *   <id>_stream(batch_size: Int!, cursor: [<id>_stream_cursor_input]!, where: <id>_bool_exp): [<id>!]!
 *   input <id>_stream_cursor_input { initial_value: <id>_stream_cursor_value_input!, ordering: cursor_ordering }
 *   input <id>_stream_cursor_value_input { <every selectable column>: <its type> }
 *   enum cursor_ordering { ASC DESC }
 *
 * Only in the subscription root, for a role with a select permission on the table (and
 * `select_stream` in its `subscription_root_fields` when that list is given). The argument checks
 * Hasura makes while parsing (exactly one cursor column) are made by compile/stream.ts.
 */
import {
  GraphQLEnumType, GraphQLInputObjectType, GraphQLInt, GraphQLList, GraphQLNonNull,
  type GraphQLFieldConfig, type GraphQLInputFieldConfigMap,
} from 'graphql';
import { meta } from './meta.ts';
import type { SelectPerm, TableModel } from './model.ts';
import type { RoleTypes } from './root-fields.ts';

/** `cursor_ordering` (SubscriptionStream.hs `cursorOrderingArgParser`): one type for every table. */
export const cursorOrdering = new GraphQLEnumType({
  name: 'cursor_ordering',
  description: 'ordering argument of a cursor',
  values: {
    ASC: { value: 'ASC', description: 'ascending ordering of the cursor' },
    DESC: { value: 'DESC', description: 'descending ordering of the cursor' },
  },
});

const cursorInputs = new WeakMap<RoleTypes, Map<string, GraphQLInputObjectType>>();

/** `<id>_stream_cursor_input`, once per role schema; undefined when the role sees no column. */
function cursorInput(types: RoleTypes, t: TableModel, perm: SelectPerm): GraphQLInputObjectType | undefined {
  let cache = cursorInputs.get(types);
  if (!cache) { cache = new Map(); cursorInputs.set(types, cache); }
  const hit = cache.get(t.key);
  if (hit) return hit;
  const cols = t.columns.filter((c) => perm.columns.has(c.name));
  if (cols.length === 0) return undefined;
  const fields: GraphQLInputFieldConfigMap = {};
  for (const c of [...cols].sort((a, b) => (a.gqlName < b.gqlName ? -1 : a.gqlName > b.gqlName ? 1 : 0))) {
    // streamColumnParserArg: each field carries the column's description (ciDescription).
    fields[c.gqlName] = { type: types.columnType(c), ...(c.description !== undefined ? { description: c.description } : {}) };
  }
  const value = new GraphQLInputObjectType({
    name: `${t.id}_stream_cursor_value_input`,
    description: 'Initial value of the column from where the streaming should start',
    fields,
  });
  const input = new GraphQLInputObjectType({
    name: `${t.id}_stream_cursor_input`,
    description: `Streaming cursor of the table "${t.id}"`,
    fields: {
      initial_value: { type: new GraphQLNonNull(value), description: 'Stream column input with initial value' },
      ordering: { type: cursorOrdering, description: 'cursor ordering' },
    },
  });
  cache.set(t.key, input);
  return input;
}

/** The `<id>_stream` field for `t`, or undefined when the role cannot stream it. */
export function streamField(types: RoleTypes, t: TableModel, perm: SelectPerm, label: string): GraphQLFieldConfig<unknown, unknown> | undefined {
  const cursor = cursorInput(types, t, perm);
  if (!cursor) return undefined;
  return {
    type: new GraphQLNonNull(new GraphQLList(new GraphQLNonNull(types.objectType(t)))),
    args: {
      batch_size: { type: new GraphQLNonNull(GraphQLInt), description: 'maximum number of rows returned in a single batch' },
      cursor: { type: new GraphQLNonNull(new GraphQLList(cursor)), description: 'cursor to stream the results returned by the query' },
      where: { type: types.boolExp(t), description: 'filter the rows returned' },
    },
    description: `fetch data from the table in a streaming manner: "${label}"`,
    extensions: meta({ kind: 'select_stream', table: t, perm }),
  };
}

/**
 * The root field name: `custom_root_fields.select_stream` when set (Table/Cache.hs
 * `_tcrfSelectStream`), else `<id>_stream` (SourceCustomization.hs `mkSelectStreamField`).
 */
export const streamRootName = (t: TableModel): string => t.rootNames.select_stream;
