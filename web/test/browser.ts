/**
 * Shared by the browser tests and bench:web: Debian's chromium driven by playwright-core (no browser
 * download: the project's files install `chromium` with apt, .ci/run), a stack started as the e2e
 * tests start it (own ports, own data folder), and axe-core run inside the page.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { chromium, type Browser, type Page } from 'playwright-core';
import { freePort } from '@linkport/devstack/testing';
import { startStack, type RunningStack, stackPortVariables } from '@linkport/launcher';

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

/** The browser binary, or a sentence saying what is missing and how to get it. */
export function findChromium(): { bin?: string; missing?: string } {
  const bin = process.env.CHROMIUM_BIN || CANDIDATES.find((p) => fs.existsSync(p));
  if (bin && fs.existsSync(bin)) return { bin };
  return {
    missing:
      'No Chromium found (looked at CHROMIUM_BIN and ' +
      CANDIDATES.join(', ') +
      "). The dashboard's browser tests drive a system Chromium through playwright-core: install it (Debian/Ubuntu: `apt-get install chromium`; .ci/run does this as root) or set CHROMIUM_BIN.",
  };
}

export async function launchChromium(bin: string): Promise<Browser> {
  // --no-sandbox: CI runs as root, where Chromium refuses its sandbox.
  return chromium.launch({ executablePath: bin, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'] });
}

export interface Stack {
  stack: RunningStack;
  gateway: string;
  dataDir: string;
  stop(): Promise<void>;
}

/** `allowlist`: the engine refuses every operation outside the first-party collection, as in production. */
export async function startTestStack(log: (line: string) => void, opts: { allowlist?: boolean; env?: Record<string, string> } = {}): Promise<Stack> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'linkport-web-'));
  fs.chmodSync(dataDir, 0o755);
  const ports: Record<string, string> = {};
  for (const name of stackPortVariables()) {
    ports[name] = String(await freePort());
  }
  const { DATABASE_URL: _d, REDIS_URL: _r, S3_ENDPOINT: _s, HASURA_URL: _h, ...env } = process.env;
  const stack = await startStack({ env: { ...env, ...ports, LOG_LEVEL: 'warn', LINKPORT_NO_INSTALL: '1', ...(opts.allowlist ? { HASURA_GRAPHQL_ENABLE_ALLOWLIST: 'true' } : {}), ...opts.env }, dataDir, log });
  const gateway = stack.endpoints.gateway;
  if (!gateway) throw new Error('the gateway did not start');
  return {
    stack,
    // The public origin (PUBLIC_BASE_URL = http://localhost:<port>): CORS of the S3 uploads and the
    // short URLs are for this origin, so the browser must use it rather than 127.0.0.1.
    gateway: `http://localhost:${ports.GATEWAY_PORT}`,
    dataDir,
    async stop() {
      await stack.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

const axeSource = fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: Array<{ target: string[] }>;
}

/** axe-core's WCAG 2.x A/AA rules on the current page; returns serious and critical violations. */
export async function seriousA11yViolations(page: Page): Promise<AxeViolation[]> {
  // The context bypasses CSP (bypassCSP): the app's own CSP forbids inline scripts, axe is one.
  await page.addScriptTag({ content: axeSource });
  const violations = await page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run(ctx: unknown, opts: unknown): Promise<{ violations: AxeViolation[] }> } }).axe;
    const r = await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] }, resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => ({ target: n.target })) }));
  });
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}
