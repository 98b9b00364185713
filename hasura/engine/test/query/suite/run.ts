/** `node --import tsx hasura/engine/test/query/suite/run.ts graphql_query/basic …`: per-dir counts. */
import { runDir } from './loader.ts';

const dirs = process.argv.slice(2);
const verbose = process.env.VERBOSE === '1';
for (const d of dirs) {
  const { results, notes } = await runDir(d);
  const pass = results.filter((r) => r.ok).length;
  console.log(`${d}: ${pass}/${results.length} passed (${results.filter((r) => r.errorOnly).length} fail only on error text)`);
  for (const r of results) if (!r.ok) console.log(`  FAIL ${r.file}#${r.index}${verbose ? `\n   ${r.detail}` : ''}`);
  if (verbose) for (const n of notes) console.log(`  note: ${n}`);
}
process.exit(0);
