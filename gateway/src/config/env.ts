/**
 * The Node gateway's environment, one zod schema (CONTRIBUTING.md "Environment"). The upstream
 * addresses default to the `npm start` ports; they reach the dynamic files only through the
 * `{{ env "…" }}` templates, exactly as they reach Traefik in docker compose.
 */
import path from 'node:path';
import { z } from 'zod';
import { defaultPorts, envBool, envList, envPort, logLevel } from '@linkport/common';

const local = (port: number) => `http://127.0.0.1:${port}`;
const origins = z
  .string()
  .default('')
  .transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean))
  .pipe(z.array(z.url().refine((u) => new URL(u).origin === u.replace(/\/$/, ''), 'must be an origin (scheme://host[:port])')))
  .transform((list) => list.join(','));

export const gatewayEnvSchema = z.object({
  HOST: z.string().default('127.0.0.1'),
  PORT: envPort.default(defaultPorts.gateway),
  LOG_LEVEL: logLevel,
  GATEWAY_DYNAMIC_DIR: z.string().default(path.resolve(import.meta.dirname, '../../dynamic')),
  GATEWAY_ENTRYPOINT: z.string().default('web'),
  GATEWAY_TRUSTED_IPS: envList.default([]),
  GATEWAY_ACCESS_LOG: z.enum(['stdout', 'off']).default('stdout'),
  /** `GET /ping` → "OK" on the gateway port (Traefik `ping.entryPoint`), for the launcher's readiness. */
  GATEWAY_PING: envBool.default(true),
  GATEWAY_RELOAD_DEBOUNCE_MS: z.coerce.number().int().min(0).default(200),
  CORE_URL: z.url().default(local(defaultPorts.core)),
  MEDIA_URL: z.url().default(local(defaultPorts.media)),
  HASURA_URL: z.url().default(local(defaultPorts.hasura)),
  REDIRECT_URL: z.url().default(local(defaultPorts.redirect)),
  CORS_ORIGINS: origins,
  SHORT_LINK_HOST: z
    .string()
    .default('')
    .refine((h) => h === '' || /^[a-z0-9.-]+(:\d+)?$/i.test(h), 'must be a host name'),
});

export type GatewayEnv = z.infer<typeof gatewayEnvSchema>;

/** The variables the dynamic files may read with `{{ env }}`: the process env with defaults applied. */
export function templateEnv(env: GatewayEnv, raw: Record<string, string | undefined>): Record<string, string | undefined> {
  return {
    ...raw,
    CORE_URL: env.CORE_URL,
    MEDIA_URL: env.MEDIA_URL,
    HASURA_URL: env.HASURA_URL,
    REDIRECT_URL: env.REDIRECT_URL,
    CORS_ORIGINS: env.CORS_ORIGINS,
    SHORT_LINK_HOST: env.SHORT_LINK_HOST,
  };
}
