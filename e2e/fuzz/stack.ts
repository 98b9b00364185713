import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '@linkport/devstack/testing';
import { stackPortVariables, startStack, type RunningStack } from '@linkport/launcher';

/** The whole `npm start` stack in-process on free ports, as e2e/test/journey.test.ts runs it. */
export interface OwnStack {
  stack: RunningStack;
  /** Every line the launcher logged (its restart reports among them). */
  logLines: string[];
  stop(): Promise<void>;
}

export async function startOwnStack(opts: { extraEnv?: Record<string, string>; log?: (line: string) => void } = {}): Promise<OwnStack> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'linkport-fuzz-'));
  fs.chmodSync(dataDir, 0o755);
  const ports: Record<string, string> = {};
  for (const name of stackPortVariables()) ports[name] = String(await freePort());
  const { DATABASE_URL: _d, REDIS_URL: _r, S3_ENDPOINT: _s, HASURA_URL: _h, ...env } = process.env;
  const logLines: string[] = [];
  let stack: RunningStack;
  try {
    stack = await startStack({
      env: { ...env, ...ports, LOG_LEVEL: 'warn', LINKPORT_NO_INSTALL: '1', ...opts.extraEnv },
      dataDir,
      log: (line) => {
        logLines.push(line);
        opts.log?.(line);
      },
    });
  } catch (err) {
    fs.rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  return {
    stack,
    logLines,
    stop: async () => {
      await stack.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * The environment of a stack behind a CDN: the gateway trusts loopback's X-Forwarded-For
 * (GATEWAY_TRUSTED_IPS, Traefik's forwardedHeaders.trustedIPs) and so does the redirect service
 * (TRUSTED_PROXIES). The fuzzer then speaks for many clients, each with its own rate-limit bucket,
 * so its requests reach the services instead of stopping at 429 — while the limits stay on.
 */
export const BEHIND_PROXY_ENV: Record<string, string> = {
  GATEWAY_TRUSTED_IPS: '127.0.0.1',
  TRUSTED_PROXIES: 'loopback',
  GATEWAY_ACCESS_LOG: 'off',
};
