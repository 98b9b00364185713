import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { createTestDatabase, testRolePasswords } from '@linkport/devstack/testing';
import { migrate, rollback, status, listMigrations, roleUrl } from '../src/runner.ts';

/** A throwaway migrations directory: `{ '1_ok': ['up sql', 'down sql'] }`. */
function tempMigrations(files: Record<string, [up: string, down: string]>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mig-'));
  for (const [name, [up, down]] of Object.entries(files)) {
    fs.mkdirSync(path.join(dir, name));
    fs.writeFileSync(path.join(dir, name, 'up.sql'), up);
    fs.writeFileSync(path.join(dir, name, 'down.sql'), down);
  }
  return dir;
}

async function withPool<T>(url: string, fn: (p: pg.Pool) => Promise<T>): Promise<T> {
  const pool = new pg.Pool({ connectionString: url, max: 3 });
  try {
    return await fn(pool);
  } finally {
    await pool.end();
  }
}

void test('up → down → up on an empty database, state recorded as Hasura does', async (t) => {
  const db = await createTestDatabase({ migrated: false });
  t.after(() => db.drop());
  const all = listMigrations();
  await withPool(db.adminUrl, async (pool) => {
    const first = await migrate(pool);
    assert.equal(first.applied.length, all.length);
    const { rows } = await pool.query('SELECT version::text, dirty FROM hdb_catalog.schema_migrations ORDER BY version');
    assert.deepEqual(rows, all.map((m) => ({ version: m.version.toString(), dirty: false })));
    assert.equal((await migrate(pool)).applied.length, 0, 'second migrate is a no-op');

    const down = await rollback(pool, all.length);
    assert.equal(down.length, all.length);
    const schemas = await pool.query("SELECT nspname FROM pg_namespace WHERE nspname IN ('core','media','links')");
    assert.equal(schemas.rowCount, 0, 'down removes the schemas');
    assert.ok((await status(pool)).every((s) => s.state === 'pending'));

    assert.equal((await migrate(pool)).applied.length, all.length, 'up again after down');
  });
});

void test('concurrent runners apply each version once (advisory lock)', async (t) => {
  const db = await createTestDatabase({ migrated: false });
  t.after(() => db.drop());
  await withPool(db.adminUrl, async (pool) => {
    const [a, b] = await Promise.all([migrate(pool), migrate(pool)]);
    assert.equal(a.applied.length + b.applied.length, listMigrations().length);
  });
});

void test('a dirty or unknown version stops every command with a clear message', async (t) => {
  const db = await createTestDatabase();
  t.after(() => db.drop());
  await withPool(db.adminUrl, async (pool) => {
    await pool.query('INSERT INTO hdb_catalog.schema_migrations VALUES (9999999999999, false)');
    await assert.rejects(migrate(pool), /not in this checkout/);
    await pool.query('UPDATE hdb_catalog.schema_migrations SET dirty = true WHERE version = 9999999999999');
    await assert.rejects(migrate(pool), /is dirty/);
    await assert.rejects(rollback(pool), /is dirty/);
    const st = await status(pool);
    assert.equal(st.at(-1)?.state, 'dirty');
  });
});

void test('a failing migration rolls back whole and leaves no state', async (t) => {
  const db = await createTestDatabase({ migrated: false });
  t.after(() => db.drop());
  const dir = tempMigrations({
    '1_ok': ['CREATE TABLE public.ok1 (id int);', 'DROP TABLE public.ok1;'],
    '2_bad': ['CREATE TABLE public.bad (id int); SELECT 1/0;', 'DROP TABLE public.bad;'],
  });
  await withPool(db.adminUrl, async (pool) => {
    await assert.rejects(migrate(pool, { dir }), /2_bad failed: division by zero/);
    const { rows } = await pool.query('SELECT version::text, dirty FROM hdb_catalog.schema_migrations');
    assert.deepEqual(rows, [{ version: '1', dirty: false }]);
    assert.equal((await pool.query("SELECT to_regclass('public.bad') AS t")).rows[0].t, null);
  });
});

// docs/architecture.md's grants table: each service role reaches its own schema and nothing else.
const refusals: Array<[role: keyof typeof testRolePasswords, sql: string]> = [
  ['core_service', 'SELECT * FROM media.assets'],
  ['core_service', 'SELECT * FROM links.links'],
  ['media_service', 'SELECT * FROM core.users'],
  ['media_service', 'SELECT * FROM links.links'],
  ['redirect_service', 'SELECT * FROM core.users'],
  ['redirect_service', 'SELECT * FROM media.assets'],
  ['redirect_service', "UPDATE links.links SET destination = 'https://evil.example'"],
  ['redirect_service', 'DELETE FROM links.links'],
  ['links_admin', 'SELECT * FROM core.users'],
  ['links_admin', 'SELECT * FROM media.assets'],
  ['links_admin', 'CREATE TABLE public.x (id int)'],
];

void test('each service role is refused on the other schemas', async (t) => {
  const db = await createTestDatabase();
  t.after(() => db.drop());
  for (const [role, sql] of refusals) {
    await withPool(db.roleUrl(role), async (pool) => {
      await assert.rejects(pool.query(sql), (err: { code?: string }) => err.code === '42501', `${role}: ${sql}`);
    });
  }
  const allowed: Array<[keyof typeof testRolePasswords, string]> = [
    ['core_service', 'SELECT count(*) FROM core.users'],
    ['media_service', 'SELECT count(*) FROM media.assets'],
    ['redirect_service', 'SELECT count(*) FROM links.links'],
    ['redirect_service', 'UPDATE links.links SET click_count = click_count + 1 WHERE false'],
    ['links_admin', 'SELECT count(*) FROM links.links'],
  ];
  for (const [role, sql] of allowed) {
    await withPool(db.roleUrl(role), (pool) => pool.query(sql));
  }
  assert.ok(roleUrl(db.adminUrl, 'core_service', 'x').includes('core_service:x@'));
});

void test('the database enforces link rules whichever engine writes', async (t) => {
  const db = await createTestDatabase();
  t.after(() => db.drop());
  await withPool(db.adminUrl, async (pool) => {
    const u = await pool.query<{ id: string }>("INSERT INTO core.users (email, password_hash) VALUES ('a@example.com', 'x') RETURNING id");
    const owner = u.rows[0]!.id;
    const ins = (code: string | null, dest = 'https://example.com/x') =>
      pool.query<{ code: string }>('INSERT INTO links.links (owner_id, code, destination) VALUES ($1, $2, $3) RETURNING code', [owner, code, dest]);

    const gen = (await ins(null)).rows[0]!.code;
    assert.match(gen, /^[23456789abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ]{7}$/, 'generated from the unambiguous alphabet');
    assert.equal((await ins('my-launch_2')).rows[0]!.code, 'my-launch_2');
    await assert.rejects(ins('my-launch_2'), { code: '23505' });
    await assert.rejects(ins('ab'), { code: '23514', constraint: 'code_format' });
    await assert.rejects(ins('has space'), { code: '23514' });
    await assert.rejects(ins('Health'), { code: '23514', constraint: 'code_not_reserved' });
    for (const bad of ['javascript:alert(1)', 'ftp://x.example', '/relative', 'https://', 'http://a b.com', 'https://x.example/\n']) {
      await assert.rejects(ins(null, bad), { code: '23514' }, bad);
    }

    const listener = new pg.Client({ connectionString: db.adminUrl });
    await listener.connect();
    const seen: string[] = [];
    listener.on('notification', (n) => seen.push(n.payload ?? ''));
    await listener.query('LISTEN link_changed');
    const before = (await pool.query("SELECT updated_at FROM links.links WHERE code = 'my-launch_2'")).rows[0].updated_at;
    await pool.query("UPDATE links.links SET click_count = click_count + 1 WHERE code = 'my-launch_2'");
    await pool.query("UPDATE links.links SET destination = 'https://example.org/' WHERE code = 'my-launch_2'");
    await pool.query("DELETE FROM links.links WHERE code = $1", [gen]);
    await new Promise((r) => setTimeout(r, 100));
    await listener.end();
    assert.deepEqual(seen, ['my-launch_2', gen], 'a click bump notifies nothing; an edit and a delete do');
    const after = (await pool.query("SELECT updated_at, password FROM links.links WHERE code = 'my-launch_2'")).rows[0];
    assert.ok(after.updated_at > before, 'updated_at moves on an edit');

    await pool.query("UPDATE links.links SET password = 'hunter2' WHERE code = 'my-launch_2'");
    const pw = (await pool.query("SELECT password, crypt('hunter2', password) = password AS ok FROM links.links WHERE code = 'my-launch_2'")).rows[0];
    assert.match(pw.password, /^\$2a\$/, 'stored as a bcrypt hash');
    assert.equal(pw.ok, true);
  });
});

void test("a link's image must be a ready asset of the link's owner, whichever engine writes", async (t) => {
  const db = await createTestDatabase();
  const admin = new pg.Pool({ connectionString: db.adminUrl, max: 2 });
  const links = new pg.Pool({ connectionString: db.roleUrl('links_admin'), max: 2 });
  t.after(async () => {
    await admin.end();
    await links.end();
    await db.drop();
  });
  const user = async (email: string) =>
    (await admin.query<{ id: string }>('INSERT INTO core.users (email, password_hash) VALUES ($1, $2) RETURNING id', [email, 'x'])).rows[0]!.id;
  const a = await user('img-a@example.com');
  const b = await user('img-b@example.com');
  const asset = async (owner: string, status: string) =>
    (
      await admin.query<{ id: string }>(
        `INSERT INTO media.assets (owner_id, bucket, object_key, filename, content_type, size, visibility, status, upload_expires_at)
         VALUES ($1, 'b', $2, 'x.png', 'image/png', 10, 'public', $3, now() + interval '10 minutes') RETURNING id`,
        [owner, `k/${owner}/${status}/${Math.random()}`, status],
      )
    ).rows[0]!.id;
  const ownReady = await asset(a, 'ready');
  const ownPending = await asset(a, 'pending');
  const othersReady = await asset(b, 'ready');
  const link = (await links.query<{ id: string }>("INSERT INTO links.links (owner_id, destination) VALUES ($1, 'https://example.com') RETURNING id", [a])).rows[0]!.id;
  await links.query('UPDATE links.links SET image_asset_id = $1 WHERE id = $2', [ownReady, link]);
  for (const bad of [ownPending, othersReady]) {
    await assert.rejects(links.query('UPDATE links.links SET image_asset_id = $1 WHERE id = $2', [bad, link]), {
      code: '23503',
      constraint: 'links_image_asset_owner',
    });
  }
  await assert.rejects(
    links.query("INSERT INTO links.links (owner_id, destination, image_asset_id) VALUES ($1, 'https://example.com', $2)", [a, othersReady]),
    { code: '23503' },
  );
});

void test('a migration edited after it was applied is refused, not silently skipped', async (t) => {
  const db = await createTestDatabase({ migrated: false });
  t.after(() => db.drop());
  const dir = tempMigrations({ '1_first': ['CREATE TABLE public.first (id int);', 'DROP TABLE public.first;'] });
  await withPool(db.adminUrl, async (pool) => {
    await migrate(pool, { dir });
    fs.writeFileSync(path.join(dir, '1_first', 'up.sql'), 'CREATE TABLE public.first (id int, extra text);');
    await assert.rejects(migrate(pool, { dir }), /1_first was changed after it was applied/);
    await rollback(pool, 1, { dir });
    assert.equal((await migrate(pool, { dir })).applied.length, 1, 'after a rollback the new text applies');
  });
});
