import pino, { type LoggerOptions } from 'pino';
import { traceFields } from './telemetry/tracing.ts';

/**
 * Paths pino must never print: credentials, cookies, passwords, and presigned URLs' signatures
 * (docs/style.md §12).
 */
export const redactPaths = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-hasura-admin-secret"]',
  'res.headers["set-cookie"]',
  '*.password',
  '*.newPassword',
  '*.currentPassword',
  '*.refresh_token',
  '*.access_token',
  '*.secret',
  '*.key',
];

export function loggerOptions(name: string, level = 'info'): LoggerOptions {
  return {
    name,
    level,
    redact: { paths: redactPaths, censor: '[redacted]' },
    // Every line written inside a traced request carries its trace and span ids (Fastify's request
    // logger adds `reqId`, the gateway-assigned X-Request-Id), so logs and traces join both ways.
    mixin: traceFields,
    serializers: {
      req(req: { method?: string; url?: string; id?: string; headers?: Record<string, unknown> }) {
        return { method: req.method, url: stripSignature(req.url ?? ''), id: req.id };
      },
    },
  };
}

export function createLogger(name: string, level = 'info') {
  return pino(loggerOptions(name, level));
}

/** Presigned URLs carry their credential in the query string; logs keep the path only. */
export function stripSignature(url: string): string {
  return url.replace(/([?&]X-Amz-(Signature|Credential|Security-Token)=)[^&]*/gi, '$1[redacted]');
}

export type Logger = pino.Logger;
