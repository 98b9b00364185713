import { execute, Kind, type DocumentNode, type FieldNode, type GraphQLSchema, type OperationDefinitionNode } from 'graphql';
import { QErr } from '../errors.ts';

/**
 * `__schema` / `__type` root fields run through graphql-js's own introspection over the role's
 * schema (Hasura: GraphQL/Schema/Introspect.hs), so GraphiQL and codegen see exactly that schema.
 */
export function runIntrospection(
  schema: GraphQLSchema, doc: DocumentNode, op: OperationDefinitionNode, fields: FieldNode[], variables: Record<string, unknown>,
): Record<string, unknown> {
  const opNode: OperationDefinitionNode = { ...op, directives: [], selectionSet: { kind: Kind.SELECTION_SET, selections: fields } };
  const defs = doc.definitions.filter((d) => d.kind === Kind.FRAGMENT_DEFINITION);
  const res = execute({ schema, document: { kind: Kind.DOCUMENT, definitions: [opNode, ...defs] }, variableValues: variables });
  if ('then' in res) throw new QErr('unexpected', 'introspection did not complete synchronously');
  if (res.errors?.length) throw new QErr('validation-failed', res.errors[0]!.message, '$');
  return (res.data ?? {}) as Record<string, unknown>;
}
