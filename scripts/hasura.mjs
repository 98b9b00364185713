#!/usr/bin/env node
// `npm run hasura -- <args>`: the Hasura CLI (npm package hasura-cli, an optional dependency) run in
// the hasura/ project. Its install downloads a binary from the internet, so on machines without
// internet npm skips it (optional) and this script says so instead of failing obscurely.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const bin = path.join(root, 'node_modules', '.bin', 'hasura');
if (!fs.existsSync(bin)) {
  console.error('hasura CLI is not installed: its download needs internet access. Install it (npm install hasura-cli) where that works.');
  process.exit(1);
}
const r = spawnSync(bin, process.argv.slice(2), { cwd: path.join(root, 'hasura'), stdio: 'inherit' });
process.exit(r.status ?? 1);
