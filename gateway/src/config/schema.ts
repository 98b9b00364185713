/**
 * The dynamic configuration both gateways read: the subset of Traefik v3's file-provider schema
 * this project uses (doc `reference/routing-configuration/http/*`), as one zod schema. Objects are
 * strict, so a misspelt option is refused with its path instead of being silently ignored.
 */
import { z } from 'zod';
import { parseDuration } from './duration.ts';

const duration = z.union([z.string(), z.number()]).refine((v) => parseDuration(v) !== undefined && (parseDuration(v) as number) >= 0, {
  message: 'must be a Go duration such as "1s", "500ms", "1m"',
});
const headerMap = z.record(z.string(), z.string());

const ipStrategy = z.strictObject({
  depth: z.number().int().min(0).optional(),
  excludedIPs: z.array(z.string()).optional(),
});
const sourceCriterion = z
  .strictObject({
    ipStrategy: ipStrategy.optional(),
    requestHeaderName: z.string().min(1).optional(),
    requestHost: z.boolean().optional(),
  })
  // src `pkg/middlewares/extractor.go` GetSourceExtractor
  .refine((s) => [s.ipStrategy !== undefined, s.requestHeaderName !== undefined, s.requestHost === true].filter(Boolean).length <= 1, {
    message: 'iPStrategy and RequestHeaderName are mutually exclusive (and so is requestHost)',
  });

export const stripPrefixSchema = z.strictObject({ prefixes: z.array(z.string()).default([]), forceSlash: z.boolean().optional() });
export const replacePathSchema = z.strictObject({ path: z.string().startsWith('/') });
export const replacePathRegexSchema = z.strictObject({ regex: z.string().min(1), replacement: z.string() });
export const forwardAuthSchema = z.strictObject({
  address: z.url(),
  trustForwardHeader: z.boolean().optional(),
  authResponseHeaders: z.array(z.string()).default([]),
  authResponseHeadersRegex: z.string().optional(),
  authRequestHeaders: z.array(z.string()).default([]),
  addAuthCookiesToResponse: z.array(z.string()).default([]),
  forwardBody: z.boolean().default(false),
  maxBodySize: z.number().int().default(-1),
  maxResponseBodySize: z.number().int().default(-1),
  headerField: z.string().optional(),
  preserveLocationHeader: z.boolean().default(false),
  preserveRequestMethod: z.boolean().default(false),
  authSigninURL: z.string().optional(),
});
export const rateLimitSchema = z.strictObject({
  average: z.number().int().min(0).default(0),
  period: duration.default('1s'),
  burst: z.number().int().default(1),
  sourceCriterion: sourceCriterion.optional(),
});
export const headersSchema = z.strictObject({
  customRequestHeaders: headerMap.optional(),
  customResponseHeaders: headerMap.optional(),
  accessControlAllowCredentials: z.boolean().optional(),
  accessControlAllowHeaders: z.array(z.string()).optional(),
  accessControlAllowMethods: z.array(z.string()).optional(),
  accessControlAllowOriginList: z.array(z.string()).optional(),
  accessControlAllowOriginListRegex: z.array(z.string()).optional(),
  accessControlExposeHeaders: z.array(z.string()).optional(),
  accessControlMaxAge: z.number().int().optional(),
  addVaryHeader: z.boolean().optional(),
  frameDeny: z.boolean().optional(),
  customFrameOptionsValue: z.string().optional(),
  contentTypeNosniff: z.boolean().optional(),
  browserXssFilter: z.boolean().optional(),
  referrerPolicy: z.string().optional(),
  contentSecurityPolicy: z.string().optional(),
  permissionsPolicy: z.string().optional(),
  stsSeconds: z.number().int().min(0).optional(),
  stsIncludeSubdomains: z.boolean().optional(),
  stsPreload: z.boolean().optional(),
  forceSTSHeader: z.boolean().optional(),
  isDevelopment: z.boolean().optional(),
  sslProxyHeaders: headerMap.optional(),
});
/** src `pkg/config/dynamic/middlewares.go` Buffering (request half; see middlewares/buffering.ts). */
export const bufferingSchema = z.strictObject({
  maxRequestBodyBytes: z.number().int().default(0),
  memRequestBodyBytes: z.number().int().optional(),
});
/** src `pkg/config/dynamic/middlewares.go` Retry: attempts (total tries), initialInterval (exponential backoff, capped at 2×). */
export const retrySchema = z.strictObject({ attempts: z.number().int().min(1), initialInterval: duration.default(0) });
export const chainSchema = z.strictObject({ middlewares: z.array(z.string()).min(1) });
/** Our request-id plugin (gateway/plugins-local/src/github.com/linkport/requestid). */
export const requestIdSchema = z.strictObject({ headerName: z.string().min(1).default('X-Request-Id') });
export const pluginSchema = z.strictObject({ requestid: requestIdSchema });

export const middlewareSchema = z
  .strictObject({
    stripPrefix: stripPrefixSchema.optional(),
    replacePath: replacePathSchema.optional(),
    replacePathRegex: replacePathRegexSchema.optional(),
    forwardAuth: forwardAuthSchema.optional(),
    rateLimit: rateLimitSchema.optional(),
    headers: headersSchema.optional(),
    buffering: bufferingSchema.optional(),
    retry: retrySchema.optional(),
    chain: chainSchema.optional(),
    plugin: pluginSchema.optional(),
  })
  .refine((m) => Object.values(m).filter((v) => v !== undefined).length === 1, { message: 'a middleware must have exactly one type' });

export const routerSchema = z.strictObject({
  rule: z.string().min(1),
  priority: z.number().int().optional(),
  entryPoints: z.array(z.string()).optional(),
  middlewares: z.array(z.string()).default([]),
  service: z.string().min(1),
  tls: z.record(z.string(), z.unknown()).optional(),
  observability: z.record(z.string(), z.unknown()).optional(),
});

/**
 * `loadBalancer.healthCheck` (doc `reference/routing-configuration/http/load-balancing/service.md`,
 * src `pkg/healthcheck/healthcheck.go`): defaults interval 30s, timeout 5s, method GET; without
 * `status` any 2xx/3xx is healthy.
 */
export const healthCheckSchema = z.strictObject({
  path: z.string().startsWith('/'),
  interval: duration.default('30s'),
  unhealthyInterval: duration.optional(),
  timeout: duration.default('5s'),
  status: z.number().int().min(100).max(599).optional(),
  method: z.string().min(1).default('GET'),
  hostname: z.string().optional(),
  port: z.number().int().min(1).max(65535).optional(),
  scheme: z.enum(['http', 'https']).optional(),
  headers: headerMap.optional(),
});
/** `loadBalancer.sticky.cookie` (src `pkg/server/service/loadbalancer/wrr/wrr.go`, `pkg/config/dynamic/http_config.go` Cookie). */
export const stickyCookieSchema = z.strictObject({
  name: z.string().regex(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/, 'must be a cookie name (RFC 6265 token)').optional(),
  secure: z.boolean().default(false),
  httpOnly: z.boolean().default(false),
  sameSite: z.enum(['none', 'lax', 'strict', '']).default(''),
  maxAge: z.number().int().default(0),
  path: z.string().startsWith('/').default('/'),
  domain: z.string().optional(),
});

export const serviceSchema = z.strictObject({
  loadBalancer: z.strictObject({
    // an empty list is allowed and answers 503 "no available server" (src loadbalancer/wrr/wrr.go)
    servers: z.array(
      z.strictObject({
        url: z.url({ protocol: /^https?$/ }),
        // src dynamic.Server.Weight: *int, default 1; 0 keeps the server out of the rotation
        weight: z.number().int().min(0).optional(),
      }),
    ),
    passHostHeader: z.boolean().default(true),
    serversTransport: z.string().optional(),
    healthCheck: healthCheckSchema.optional(),
    sticky: z.strictObject({ cookie: stickyCookieSchema }).optional(),
  }),
});

export const serversTransportSchema = z.strictObject({
  forwardingTimeouts: z
    .strictObject({ dialTimeout: duration.optional(), responseHeaderTimeout: duration.optional(), idleConnTimeout: duration.optional() })
    .optional(),
  maxIdleConnsPerHost: z.number().int().optional(),
});

export const dynamicFileSchema = z.strictObject({
  http: z
    .strictObject({
      routers: z.record(z.string(), routerSchema).optional(),
      middlewares: z.record(z.string(), middlewareSchema).optional(),
      services: z.record(z.string(), serviceSchema).optional(),
      serversTransports: z.record(z.string(), serversTransportSchema).optional(),
    })
    .optional(),
  tls: z.record(z.string(), z.unknown()).optional(),
});

export type DynamicFile = z.infer<typeof dynamicFileSchema>;
export type RouterConfig = z.infer<typeof routerSchema>;
export type MiddlewareConfig = z.infer<typeof middlewareSchema>;
export type ServiceConfig = z.infer<typeof serviceSchema>;
export type ServersTransportConfig = z.infer<typeof serversTransportSchema>;
export type ForwardAuthConfig = z.infer<typeof forwardAuthSchema>;
export type RateLimitConfig = z.infer<typeof rateLimitSchema>;
export type HeadersConfig = z.infer<typeof headersSchema>;
export type BufferingConfig = z.infer<typeof bufferingSchema>;
export type RetryConfig = z.infer<typeof retrySchema>;
export type HealthCheckConfig = z.infer<typeof healthCheckSchema>;
export type StickyCookieConfig = z.infer<typeof stickyCookieSchema>;
export type StripPrefixConfig = z.infer<typeof stripPrefixSchema>;
export type ReplacePathConfig = z.infer<typeof replacePathSchema>;
export type ReplacePathRegexConfig = z.infer<typeof replacePathRegexSchema>;
export type RequestIdConfig = z.infer<typeof requestIdSchema>;

/** The merged configuration of all files, each element remembering the file it came from. */
export interface DynamicConfig {
  routers: Record<string, RouterConfig & { file: string }>;
  middlewares: Record<string, MiddlewareConfig & { file: string }>;
  services: Record<string, ServiceConfig & { file: string }>;
  serversTransports: Record<string, ServersTransportConfig & { file: string }>;
}
