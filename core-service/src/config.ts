import { z } from 'zod';
import { envPort, logLevel, loadConfig as load } from '@linkport/common';

/** A private JWK as JWT_PRIVATE_KEYS carries it (RFC 7517 §4; RSA members per RFC 7518 §6.3). */
const privateJwk = z.looseObject({
  kty: z.literal('RSA'),
  n: z.string().min(1),
  e: z.string().min(1),
  d: z.string().min(1),
  kid: z.string().min(1).optional(),
  alg: z.literal('RS256').optional(),
});
export type PrivateJwk = z.infer<typeof privateJwk>;

const jsonKeys = z
  .string()
  .transform((s, ctx) => {
    try {
      return JSON.parse(s) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be a JSON array of private JWKs' });
      return z.NEVER;
    }
  })
  .pipe(z.array(privateJwk).min(1));

const positiveInt = z.coerce.number().int().positive();

/** Every setting of core-service (CONTRIBUTING.md "Environment"); nothing below server.ts reads env. */
export const configSchema = z.object({
  HOST: z.string().default('127.0.0.1'),
  PORT: envPort.default(3001),
  LOG_LEVEL: logLevel,
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }),
  REDIS_URL: z.url({ protocol: /^rediss?$/ }),
  PUBLIC_BASE_URL: z.url({ protocol: /^https?$/ }).default('http://localhost:8080'),
  JWT_ISSUER: z.string().min(1).default('linkport'),
  JWT_AUDIENCE: z.string().min(1).default('linkport'),
  JWT_PRIVATE_KEYS: jsonKeys.optional(),
  // Proxies whose X-Forwarded-For is believed (proxy-addr names or CIDRs): per-IP login throttling
  // must see the client behind the gateway, not the gateway.
  TRUST_PROXY: z.string().default('loopback,uniquelocal'),
  LOGIN_MAX_FAILURES_PER_ACCOUNT: positiveInt.default(10),
  LOGIN_MAX_FAILURES_PER_IP: positiveInt.default(50),
  LOGIN_THROTTLE_WINDOW_SECONDS: positiveInt.default(900),
  REFRESH_TOKEN_TTL_DAYS: positiveInt.default(30),
});

export type Config = z.infer<typeof configSchema>;

export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  return load(configSchema, env);
}
