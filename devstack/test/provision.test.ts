import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ensureOptionalPackages, optionalTestPackages, type OptionalPackage } from '../src/provision.ts';

void test('optional test packages: present ones turn their REQUIRE env on; missing ones are named once with the command to run', () => {
  const pkgs: OptionalPackage[] = [
    { pkg: 'here-pkg', use: 'the here tests', present: () => true, requireEnv: 'LINKPORT_REQUIRE_HERE' },
    { pkg: 'gone-pkg', use: 'the gone tests', present: () => false, requireEnv: 'LINKPORT_REQUIRE_GONE' },
  ];
  const lines: string[] = [];
  // autoInstall off: never runs apt-get, whoever runs the test
  const env = ensureOptionalPackages(pkgs, { autoInstall: false, log: (l) => lines.push(l) });
  assert.deepEqual(env, { LINKPORT_REQUIRE_HERE: '1' });
  assert.equal(lines.length, 1);
  assert.match(lines[0]!, /gone-pkg missing \(LINKPORT_NO_INSTALL=1\): the gone tests will be skipped; as root: apt-get update && apt-get install -y gone-pkg/);
  assert.doesNotMatch(lines[0]!, /here-pkg/);
});

void test('the packages npm test provisions are the ones the skipping tests check for', () => {
  assert.deepEqual(
    optionalTestPackages.map((p) => [p.pkg, p.requireEnv]),
    [
      ['postgresql-15-postgis-3', 'LINKPORT_REQUIRE_POSTGIS'],
      ['chromium', 'LINKPORT_REQUIRE_CHROMIUM'],
      ['nginx', 'LINKPORT_REQUIRE_NGINX'],
      ['clickhouse-server', 'LINKPORT_REQUIRE_CLICKHOUSE'],
    ],
  );
});
