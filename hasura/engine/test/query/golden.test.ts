/**
 * Golden files on the platform's schema: golden/<case>.graphql (+ `# session:` / `# variables:`
 * header lines) → golden/<case>.json. Refresh on purpose only: `UPDATE_GOLDEN=1 npm test -- hasura/engine/test/query`.
 * The per-role SDL (printSchema) is golden too: golden/sdl/<role>.graphql.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { printSchema } from 'graphql';
import type { Session } from '../../src/contract.ts';
import { introspect } from '../../src/introspection/introspect.ts';
import { buildRoleSchema } from '../../src/schema/build-role.ts';
import { buildModel, trackedTables } from '../../src/schema/resolve-metadata.ts';
import { admin, anonymous, harness, user } from './helper.ts';
import { linksMetadata, USERS } from './fixtures.ts';

const DIR = path.join(import.meta.dirname, 'golden');
const UPDATE = process.env.UPDATE_GOLDEN === '1';

function header(src: string, key: string): string | undefined {
  return new RegExp(`^# ${key}: (.*)$`, 'm').exec(src)?.[1];
}

function sessionOf(spec: string | undefined): Session {
  if (!spec || spec === 'admin') return admin;
  const s = JSON.parse(spec) as { role: string; user?: keyof typeof USERS };
  if (s.role === 'anonymous') return anonymous;
  if (s.role === 'user' && s.user) return user(USERS[s.user]);
  return { role: s.role, vars: {}, isAdmin: false };
}

function golden(file: string, actual: string): void {
  if (UPDATE || !fs.existsSync(file)) { fs.writeFileSync(file, actual); return; }
  assert.equal(actual, fs.readFileSync(file, 'utf8'), `${path.basename(file)} differs (UPDATE_GOLDEN=1 to refresh on purpose)`);
}

void test('golden queries on the links schema', async (t) => {
  const h = await harness();
  t.after(() => h.close());
  for (const f of fs.readdirSync(DIR).filter((x) => x.endsWith('.graphql')).sort()) {
    await t.test(f, async () => {
      const src = fs.readFileSync(path.join(DIR, f), 'utf8');
      const vars = header(src, 'variables');
      const res = await h.q(src, sessionOf(header(src, 'session')), vars ? (JSON.parse(vars) as Record<string, unknown>) : undefined);
      golden(path.join(DIR, f.replace(/\.graphql$/, '.json')), JSON.stringify(res, null, 2) + '\n');
    });
  }
});

void test('golden SDL per role', async (t) => {
  const h = await harness();
  t.after(() => h.close());
  const md = linksMetadata();
  const model = buildModel(md, await introspect(h.pool, trackedTables(md).map((x) => x.ref)));
  assert.deepEqual(model.warnings, []);
  fs.mkdirSync(path.join(DIR, 'sdl'), { recursive: true });
  for (const role of [null, 'user', 'anonymous', 'nobody']) {
    golden(path.join(DIR, 'sdl', `${role ?? 'admin'}.graphql`), printSchema(buildRoleSchema(model, role)) + '\n');
  }
});
