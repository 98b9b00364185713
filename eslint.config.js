// Typed lint: the rules that catch what tsc cannot — floating promises above all — and the
// boundaries between workspaces (CONTRIBUTING.md "Layout"), enforced by tools, not discipline.
import tseslint from 'typescript-eslint';
import { createNodeResolver, importX } from 'eslint-plugin-import-x';

/** What each workspace's production code may import of the others. Everything else is refused. */
const allowed = {
  common: [],
  migrations: [],
  devstack: ['common', 'migrations'],
  'hasura/console': [],
  'core-service': ['common', 'graphql-console'],
  'media-service': ['common'],
  gateway: ['common'],
  'hasura/engine': ['common', 'graphql-console'],
  redirect: ['common'],
  events: ['common'],
  launcher: ['common', 'migrations', 'devstack'],
  // dev-only like devstack: starts the services as processes; its tests drive the redirect in-process
  topology: ['common', 'migrations', 'devstack'],
  web: ['common'],
};
const packageOf = { 'hasura/engine': 'hasura-engine', 'hasura/console': 'graphql-console' };
const all = ['common', 'migrations', 'devstack', 'graphql-console', 'core-service', 'media-service', 'gateway', 'hasura-engine', 'redirect', 'events', 'launcher', 'web', 'topology', 'e2e'];

function boundary(dir, may) {
  const ok = new Set([packageOf[dir] ?? dir, ...may]);
  const forbidden = all.filter((p) => !ok.has(p));
  return {
    'no-restricted-imports': [
      'error',
      {
        patterns: [
          {
            group: forbidden.flatMap((p) => [`@linkport/${p}`, `@linkport/${p}/*`]),
            message: `${dir} may import only ${may.length ? may.map((p) => `@linkport/${p}`).join(', ') : 'no other workspace'} (eslint.config.js "allowed"; tests and benches may add @linkport/devstack).`,
          },
        ],
      },
    ],
  };
}

export default tseslint.config(
  { ignores: ['**/node_modules/**', '.data/**', '**/dist/**', '**/*.js', '**/*.mjs', 'eslint-rules/test/fixtures/**'] },
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.base],
    plugins: { 'import-x': importX },
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    settings: {
      'import-x/resolver-next': [createNodeResolver({ extensions: ['.ts', '.js'] })],
      // no-cycle parses the imported files too: with the TypeScript parser, as .ts modules.
      'import-x/extensions': ['.ts', '.js'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
      '@typescript-eslint/await-thenable': 'error',
      // A module cycle makes load order (and so `undefined` at import time) depend on who came first.
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      // `../../other-workspace/src/x.ts` reaches around the package boundary: import the package.
      'import-x/no-relative-packages': 'error',
    },
  },
  ...Object.entries(allowed).flatMap(([dir, may]) => [
    { files: [`${dir}/src/**/*.ts`], rules: boundary(dir, may) },
    // Tests, benches and conformance harnesses may use the dev-only workspace as well.
    { files: [`${dir}/{test,bench,conformance,scripts}/**/*.ts`], rules: boundary(dir, [...may, 'devstack']) },
  ]),
  // The dashboard's browser tests and bench start the whole stack, as e2e/ does.
  { files: ['web/{test,bench}/**/*.ts'], rules: boundary('web', ['common', 'devstack', 'launcher']) },
  // Its codegen (dev-only) asks the engine for the role-user schema over the committed metadata.
  { files: ['web/scripts/**/*.ts', 'web/test/codegen.test.ts'], rules: boundary('web', ['common', 'devstack', 'launcher', 'hasura-engine']) },
  // The topology's tests drive the redirect in-process against its replica and cluster.
  { files: ['topology/test/**/*.ts'], rules: boundary('topology', ['common', 'migrations', 'devstack', 'redirect']) },
);
