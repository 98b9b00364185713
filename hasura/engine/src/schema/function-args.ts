/**
 * GraphQL names of SQL function input arguments (Backends/Postgres/Schema/Select.hs
 * `functionArgs`/`splitArguments`): a named argument keeps its name; an unnamed one is `arg_<n>`,
 * n counting the unnamed input arguments from 1 (the table-row and session arguments are not
 * input arguments and take no number).
 */
import type { PgFunctionArg } from '../introspection/catalog.ts';

export function argGqlNames(inputArgs: readonly PgFunctionArg[]): string[] {
  let n = 1;
  return inputArgs.map((a) => (a.name ? a.name : `arg_${n++}`));
}
