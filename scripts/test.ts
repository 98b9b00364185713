/**
 * `npm test`: typecheck, lint, then every workspace's `test/**\/*.test.ts` in one `node:test` run, so
 * the run ends with one counted summary. Starts one throwaway PostgreSQL 16 for the whole run
 * (tests clone a migrated template database from it); Redis and S3 are started per test file.
 *
 *   npm test                      everything
 *   npm test -- core-service      only files whose path contains "core-service"
 *   npm test -- --no-checks       skip typecheck and lint
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ProvisionError, ensureOptionalPackages, ensureRedisServer, optionalTestPackages, startEmbeddedPostgres } from '@linkport/devstack';
import { ensureTemplate } from '@linkport/devstack/testing';

const root = path.resolve(import.meta.dirname, '..');
const args = process.argv.slice(2);
const noChecks = args.includes('--no-checks');
const filters = args.filter((a) => !a.startsWith('--'));

function findTests(dir: string, out: string[] = []): string[] {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    if (e.name === 'node_modules' || e.name.startsWith('.')) continue;
    const p = path.join(dir, e.name);
    if (e.isDirectory()) findTests(p, out);
    else if (e.name.endsWith('.test.ts') && p.split(path.sep).includes('test')) out.push(path.relative(root, p));
  }
  return out;
}

function run(cmd: string, argv: string[], env: NodeJS.ProcessEnv = process.env, limitMs = 0): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(cmd, argv, { cwd: root, stdio: 'inherit', env, detached: limitMs > 0 });
    const timer =
      limitMs > 0
        ? setTimeout(() => {
            console.error(`\n# test run exceeded ${Math.round(limitMs / 1000)} s (a test file left a handle open?): stopping it`);
            try {
              process.kill(-child.pid!, 'SIGKILL');
            } catch {
              child.kill('SIGKILL');
            }
          }, limitMs)
        : undefined;
    // A detached child does not get the terminal's Ctrl-C: pass it on.
    const forward = (sig: NodeJS.Signals) => {
      try {
        process.kill(limitMs > 0 ? -child.pid! : child.pid!, sig);
      } catch {
        // already gone
      }
    };
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);
    child.on('exit', (code, signal) => {
      process.off('SIGINT', forward);
      process.off('SIGTERM', forward);
      clearTimeout(timer);
      resolve(code ?? (signal ? 1 : 0));
    });
  });
}

async function main(): Promise<number> {
  if (!noChecks && filters.length === 0) {
    // tsc -b: each workspace's production code and its tests are composite projects of their own
    // (tsconfig.build.json), built incrementally; the lint below enforces which may import which.
    console.log('# typecheck (tsc -b tsconfig.build.json)');
    if ((await run('npx', ['tsc', '-b', 'tsconfig.build.json'])) !== 0) return 1;
    console.log('# lint (eslint: floating promises, import cycles, workspace boundaries)');
    if ((await run('npx', ['eslint', '.'])) !== 0) return 1;
  }
  const files = findTests(root)
    .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
    .sort();
  if (files.length === 0) {
    console.error('no test files matched');
    return 1;
  }
  // What npm cannot install, provisioned once before the first test (as `npm start` does), so no
  // test's outcome depends on which ran first.
  try {
    ensureRedisServer({ autoInstall: process.env.LINKPORT_NO_INSTALL !== '1' });
  } catch (err) {
    if (!(err instanceof ProvisionError)) throw err;
    console.error(`# ${err.message}`);
    return 1;
  }
  const requireEnv = ensureOptionalPackages(optionalTestPackages, { autoInstall: process.env.LINKPORT_NO_INSTALL !== '1', log: (l) => console.error(l) });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'linkport-test-pg-'));
  fs.chmodSync(dir, 0o755);
  const pg = await startEmbeddedPostgres({ dataDir: path.join(dir, 'data'), persistent: false });
  try {
    await ensureTemplate(pg.url);
    const concurrency = process.env.TEST_CONCURRENCY ?? String(Math.max(2, os.availableParallelism()));
    // Node 20's runner waits forever on a test file that leaks a handle; a watchdog turns that
    // into a failure with a message instead of a CI run that hangs until its limit.
    const limitMs = Number(process.env.TEST_RUN_TIMEOUT_MS ?? 20 * 60_000);
    return await run(
      process.execPath,
      // A file's limit is 5 min; the long suite (LINKPORT_LONG=1: the 100,000-redirect kill test,
      // about 5 min alone) gets an hour, as its own test declares.
      ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, `--test-timeout=${process.env.LINKPORT_LONG === '1' ? 3_600_000 : 300_000}`, '--test-reporter=spec', ...files],
      { ...requireEnv, ...process.env, LINKPORT_TEST_PG_URL: pg.url },
      limitMs,
    );
  } finally {
    await pg.stop().catch(() => {});
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
