/**
 * The lint rules that guard the workspace boundaries (eslint.config.js) fail on the imports they
 * exist to refuse. Fixtures are real files written into the workspaces for the duration of the test
 * (typed lint only sees files on disk), then removed.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { ESLint } from 'eslint';

const root = path.resolve(import.meta.dirname, '..', '..');
const tag = `lintfixture${process.pid}`;

async function lint(files: Record<string, string>): Promise<Map<string, string[]>> {
  const written = Object.keys(files).map((rel) => path.join(root, rel));
  try {
    for (const [rel, text] of Object.entries(files)) fs.writeFileSync(path.join(root, rel), text);
    const eslint = new ESLint({ cwd: root });
    const results = await eslint.lintFiles(written);
    return new Map(results.map((r) => [path.relative(root, r.filePath), r.messages.map((m) => `${m.ruleId ?? 'fatal'}: ${m.message}`)]));
  } finally {
    for (const f of written) fs.rmSync(f, { force: true });
  }
}

void test('a service importing another service (or the dev workspace) in production code is refused; common is allowed', async () => {
  const out = await lint({
    [`media-service/src/${tag}-a.ts`]: "import { buildApp } from '@linkport/core-service';\nexport const x = buildApp;\n",
    [`redirect/src/${tag}-b.ts`]: "import { startTestRedis } from '@linkport/devstack/testing';\nexport const y = startTestRedis;\n",
    [`gateway/src/${tag}-c.ts`]: "import { createLogger } from '@linkport/common';\nexport const z = createLogger;\n",
  });
  assert.match(out.get(`media-service/src/${tag}-a.ts`)!.join('\n'), /no-restricted-imports: .*media-service may import only @linkport\/common/);
  assert.match(out.get(`redirect/src/${tag}-b.ts`)!.join('\n'), /no-restricted-imports/);
  assert.deepEqual(out.get(`gateway/src/${tag}-c.ts`), []);
});

void test('tests may use the dev workspace; a relative import into another workspace is refused', async () => {
  const out = await lint({
    [`redirect/test/${tag}-d.ts`]: "import { startTestRedis } from '@linkport/devstack/testing';\nexport const y = startTestRedis;\n",
    [`gateway/src/${tag}-e.ts`]: "import { createLogger } from '../../common/src/logger.ts';\nexport const z = createLogger;\n",
  });
  assert.deepEqual(out.get(`redirect/test/${tag}-d.ts`), []);
  assert.match(out.get(`gateway/src/${tag}-e.ts`)!.join('\n'), /import-x\/no-relative-packages/);
});

void test('an import cycle is refused', async () => {
  const out = await lint({
    [`common/src/${tag}-f.ts`]: `import { g } from './${tag}-g.ts';\nexport const f = () => g;\n`,
    [`common/src/${tag}-g.ts`]: `import { f } from './${tag}-f.ts';\nexport const g = () => f;\n`,
  });
  assert.match(out.get(`common/src/${tag}-f.ts`)!.join('\n'), /import-x\/no-cycle/);
});
