/** Templates, validation (file, path, message), hot reload keeping the last good config. */
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { renderTemplate, TemplateError } from '../src/config/template.ts';
import { ConfigLoadError, loadDynamicDir, parseDynamicFiles } from '../src/config/load.ts';
import { watchDynamicDir } from '../src/config/watch.ts';
import { gatewayEnvSchema } from '../src/config/env.ts';
import { buildGateway } from '../src/app.ts';
import { call, upstream } from './helper.ts';

void test('template subset: env, default, quote, if/else, trim markers, comments', () => {
  const env = { A: 'x', E: '' };
  assert.equal(renderTemplate('a {{ env "A" }} b', env), 'a x b');
  assert.equal(renderTemplate('{{ env "MISSING" }}', env), '');
  assert.equal(renderTemplate('{{ env "E" | default "d" }}', env), 'd');
  assert.equal(renderTemplate('{{ default "d" (env "A") }}', env), 'x');
  assert.equal(renderTemplate('{{ env "A" | quote }}', env), '"x"');
  assert.equal(renderTemplate('1\n  {{- if env "A" }}\nyes{{ else }}no{{ end -}}\n  2', env), '1\nyes2');
  assert.equal(renderTemplate('{{ if env "E" }}yes{{ else }}no{{ end }}', env), 'no');
  assert.equal(renderTemplate('a{{/* note */}}b', env), 'ab');
  assert.throws(() => renderTemplate('x\n{{ exec "rm" }}', env), (e: unknown) => e instanceof TemplateError && e.line === 2 && /not supported/.test(e.message));
  assert.throws(() => renderTemplate('{{ if env "A" }}', env), /missing \{\{ end \}\}/);
  assert.throws(() => renderTemplate('{{ env "A"', env), /unclosed action/);
});

function issuesOf(files: Array<{ name: string; text: string }>) {
  try {
    parseDynamicFiles(files, {});
  } catch (err) {
    assert.ok(err instanceof ConfigLoadError);
    return err.issues;
  }
  assert.fail('expected a ConfigLoadError');
}

void test('validation errors say what and where: file, path, message', () => {
  const svc = 'http:\n  services:\n    s:\n      loadBalancer:\n        servers:\n          - url: http://127.0.0.1:1\n';
  const bad = issuesOf([{ name: 'a.yml', text: 'http:\n  routers:\n    r:\n      rule: Path(`x`)\n      service: s\n' }, { name: 'b.yml', text: svc }]);
  assert.deepEqual(bad, [{ file: 'a.yml', path: 'http.routers.r.rule', message: 'path "x" does not start with a "/"' }]);

  const typo = issuesOf([{ name: 'c.yml', text: 'http:\n  middlewares:\n    m:\n      rateLimit:\n        averag: 3\n' }]);
  assert.equal(typo[0]?.file, 'c.yml');
  assert.equal(typo[0]?.path, 'http.middlewares.m.rateLimit');
  assert.match(typo[0]?.message ?? '', /averag/);

  const missing = issuesOf([{ name: 'd.yml', text: 'http:\n  routers:\n    r:\n      rule: PathPrefix(`/`)\n      service: nope\n      middlewares: [ghost, x@docker]\n' }]);
  assert.deepEqual(
    missing.map((i) => i.path),
    ['http.routers.r.service', 'http.routers.r.middlewares.0', 'http.routers.r.middlewares.1'],
  );

  const yaml = issuesOf([{ name: 'e.yml', text: 'http:\n  routers: [\n' }]);
  assert.equal(yaml[0]?.file, 'e.yml');
  assert.match(yaml[0]?.path ?? '', /yaml line/);

  const tpl = issuesOf([{ name: 'f.yml', text: 'http: {}\n{{ nope }}\n' }]);
  assert.deepEqual(tpl[0], { file: 'f.yml', path: '(template line 2)', message: 'line 2: function "nope" not supported' });

  const dup = issuesOf([{ name: 'g.yml', text: svc }, { name: 'h.yml', text: svc }]);
  assert.deepEqual(dup[0], { file: 'h.yml', path: 'http.services.s', message: 'already defined in g.yml' });

  const cycle = issuesOf([{ name: 'i.yml', text: 'http:\n  middlewares:\n    a:\n      chain:\n        middlewares: [b]\n    b:\n      chain:\n        middlewares: [a]\n' }]);
  assert.match(cycle[0]?.message ?? '', /recursion detected/);

  const badUrl = issuesOf([{ name: 'j.yml', text: "http:\n  services:\n    s:\n      loadBalancer:\n        servers:\n          - url: '{{ env \"UNSET\" }}'\n" }]);
  assert.equal(badUrl[0]?.path, 'http.services.s.loadBalancer.servers.0.url');
});

async function until(cond: () => boolean | Promise<boolean>, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

void test('hot reload: a change is picked up, a bad file is refused and the last good config keeps serving', async (t) => {
  const a = await upstream(t, (_q, res) => res.end('a'));
  const b = await upstream(t, (_q, res) => res.end('b'));
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'gw-reload-'));
  t.after(() => fs.rm(dir, { recursive: true, force: true }));
  const file = (target: string) =>
    `http:\n  routers:\n    r:\n      rule: PathPrefix(\`/\`)\n      service: s\n  services:\n    s:\n      loadBalancer:\n        servers:\n          - url: '{{ env "TARGET_${target}" }}'\n`;
  const env = { TARGET_A: a.url, TARGET_B: b.url };
  await fs.writeFile(path.join(dir, 'routes.yml'), file('A'));
  const gw = buildGateway(await loadDynamicDir(dir, env));
  const { port } = await gw.listen(0);
  t.after(() => gw.close());
  const refused: unknown[] = [];
  const stop = watchDynamicDir(dir, env, 30, { onConfig: (c) => gw.reload(c), onInvalid: (i) => refused.push(i) });
  t.after(stop);
  const url = `http://127.0.0.1:${port}/`;
  assert.equal((await call(url)).body, 'a');

  await fs.writeFile(path.join(dir, 'routes.yml'), file('B'));
  await until(async () => (await call(url)).body === 'b');

  await fs.writeFile(path.join(dir, 'broken.yml'), 'http:\n  routers:\n    x:\n      rule: Path(`nope`)\n      service: s\n');
  await until(() => refused.length > 0);
  assert.deepEqual(refused[0], [{ file: 'broken.yml', path: 'http.routers.x.rule', message: 'path "nope" does not start with a "/"' }]);
  assert.equal((await call(url)).body, 'b', 'last good config still serving');
  const generation = gw.generation;

  await fs.rm(path.join(dir, 'broken.yml'));
  await fs.writeFile(path.join(dir, 'routes.yml'), file('A'));
  await until(async () => (await call(url)).body === 'a');
  assert.ok(gw.generation > generation);
});

void test('env: one schema, upstream defaults are the npm start ports, CORS_ORIGINS validated', () => {
  const env = gatewayEnvSchema.parse({});
  assert.equal(env.PORT, 8080);
  assert.equal(env.CORE_URL, 'http://127.0.0.1:3001');
  assert.equal(env.HASURA_URL, 'http://127.0.0.1:3003');
  assert.equal(gatewayEnvSchema.parse({ CORS_ORIGINS: 'https://a.com, http://localhost:3000' }).CORS_ORIGINS, 'https://a.com,http://localhost:3000');
  assert.equal(gatewayEnvSchema.safeParse({ CORS_ORIGINS: 'https://a.com/path' }).success, false);
  assert.equal(gatewayEnvSchema.safeParse({ SHORT_LINK_HOST: 'bad host' }).success, false);
});
