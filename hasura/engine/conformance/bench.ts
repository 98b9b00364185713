/**
 * How long the conformance test's work takes (`node --import tsx conformance/bench.ts [rounds]`,
 * from hasura/engine): the visible suite plus the upstream directories kept at 100 %, laid out
 * three ways in the same run — the baseline is the former layout (one after the other, a cluster
 * started for each), then one cluster with both side by side, then one cluster with the upstream
 * part in two shards (what test/conformance/conformance.test.ts does). Wall time per layout and
 * round; the machine's load at the start of each round is printed, since it moves every figure.
 */
import os from 'node:os';
import path from 'node:path';
import { runConformance } from './runner.ts';
import { defaultSuiteDir, suiteMissing } from './suite.ts';
import { startLocalCluster, startLocalEngine, type LocalCluster } from './local.ts';
import { upstreamComplete, upstreamShards } from './complete.ts';

const upstreamDir = path.join(import.meta.dirname, 'upstream');
const visible = suiteMissing() ? undefined : defaultSuiteDir;

async function one(cluster: LocalCluster | undefined, suiteDir: string, dirs?: string[]): Promise<number> {
  const e = await startLocalEngine(cluster ? { cluster } : { postgis: true });
  try {
    const r = await runConformance({
      url: e.url, suiteDir, ...(dirs ? { dirs } : {}), missingExtensions: e.missingExtensions,
      sqlRewrites: e.sqlRewrites, engineFor: e.withEnv, log: () => undefined,
    });
    return r.passed;
  } finally {
    await e.stop();
  }
}

async function shared(parts: Array<[string, string[] | undefined]>): Promise<number[]> {
  const cluster = await startLocalCluster({ postgis: true });
  try {
    return await Promise.all(parts.map(([dir, dirs]) => one(cluster, dir, dirs)));
  } finally {
    await cluster.stop();
  }
}

const visiblePart: Array<[string, undefined]> = visible ? [[visible, undefined]] : [];
const layouts: Array<[string, () => Promise<number[]>]> = [
  ['baseline: one after the other, a cluster each', async () => [
    ...(visible ? [await one(undefined, visible)] : []),
    await one(undefined, upstreamDir, upstreamComplete),
  ]],
  ['one cluster, side by side', () => shared([...visiblePart, [upstreamDir, upstreamComplete]])],
  ['one cluster, upstream in two shards (the test)', () => shared([...visiblePart, ...upstreamShards.map((s): [string, string[]] => [upstreamDir, s])])],
];

const rounds = Number(process.argv[2] ?? 2);
if (!visible) console.log('the visible suite is absent: upstream directories only');
for (let round = 1; round <= rounds; round++) {
  console.log(`round ${round}, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')} on ${os.cpus().length} CPUs`);
  for (const [name, run] of layouts) {
    const t = performance.now();
    const passed = await run();
    console.log(`  ${name}: ${((performance.now() - t) / 1000).toFixed(1)} s (cases passed ${passed.reduce((a, b) => a + b, 0)})`);
  }
}
