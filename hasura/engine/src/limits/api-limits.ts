/**
 * Hasura's `api_limits` metadata (docs security/api-limits.mdx; api-reference/metadata-api/
 * api-limits.mdx; the JSON of RQL/Types/ApiLimit.hs):
 *
 *   { disabled?: bool,
 *     depth_limit?, node_limit?, time_limit?, batch_limit?: { global: int, per_role?: {role: int} },
 *     rate_limit?: { global: {max_reqs_per_min, unique_params?}, per_role?: {role: {…}} } }
 *
 * `unique_params` is `"IP"` or a list of session variables; the rate key is the role plus those.
 * A role's own entry replaces the global one. The limits do not apply to the admin role (Hasura's
 * docs: "API limits are not applicable for the admin role"). `time_limit` is in seconds.
 *
 * Hasura enforces these in its enterprise edition only (rate limits in Redis); we enforce depth,
 * node, time and batch limits, and rate limits in-process (one engine process serves Linkport; a
 * second replica would each count on its own — stated, not hidden).
 */

export interface LimitOption {
  global?: number | undefined;
  perRole: Record<string, number>;
}

export interface RateOption {
  maxReqsPerMin: number;
  /** `IP`, or session variable names (lower-cased). */
  uniqueParams: 'IP' | string[] | null;
}

export interface ApiLimits {
  disabled: boolean;
  depth?: LimitOption | undefined;
  node?: LimitOption | undefined;
  time?: LimitOption | undefined;
  batch?: LimitOption | undefined;
  rate?: { global?: RateOption | undefined; perRole: Record<string, RateOption> } | undefined;
}

export class ApiLimitsError extends Error {
  constructor(message: string, readonly path: string) {
    super(message);
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

function nonNegativeInt(v: unknown, path: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new ApiLimitsError('expected a non-negative integer', path);
  return v;
}

function limitOption(v: unknown, path: string): LimitOption | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObject(v)) throw new ApiLimitsError('expected an object with "global" and "per_role"', path);
  const perRole: Record<string, number> = {};
  if (v.per_role !== undefined && v.per_role !== null) {
    if (!isObject(v.per_role)) throw new ApiLimitsError('expected an object of role → limit', `${path}.per_role`);
    for (const [role, n] of Object.entries(v.per_role)) perRole[role] = nonNegativeInt(n, `${path}.per_role.${role}`);
  }
  return { global: v.global === undefined || v.global === null ? undefined : nonNegativeInt(v.global, `${path}.global`), perRole };
}

function rateOption(v: unknown, path: string): RateOption {
  if (!isObject(v)) throw new ApiLimitsError('expected an object with "max_reqs_per_min"', path);
  const max = nonNegativeInt(v.max_reqs_per_min, `${path}.max_reqs_per_min`);
  const u = v.unique_params;
  let uniqueParams: RateOption['uniqueParams'] = null;
  if (u === 'IP') uniqueParams = 'IP';
  else if (Array.isArray(u) && u.every((x) => typeof x === 'string')) uniqueParams = u.map((x) => x.toLowerCase());
  else if (u !== undefined && u !== null) throw new ApiLimitsError('expected "IP" or a list of session variables', `${path}.unique_params`);
  return { maxReqsPerMin: max, uniqueParams };
}

/** Parses the metadata's `api_limits` (or `set_api_limits` args); throws ApiLimitsError. */
export function parseApiLimits(v: unknown, base = '$'): ApiLimits {
  if (v === undefined || v === null) return { disabled: false };
  if (!isObject(v)) throw new ApiLimitsError('expected an object', base);
  const out: ApiLimits = { disabled: v.disabled === true };
  if (v.disabled !== undefined && typeof v.disabled !== 'boolean') throw new ApiLimitsError('expected a boolean', `${base}.disabled`);
  out.depth = limitOption(v.depth_limit, `${base}.depth_limit`);
  out.node = limitOption(v.node_limit, `${base}.node_limit`);
  out.time = limitOption(v.time_limit, `${base}.time_limit`);
  out.batch = limitOption(v.batch_limit, `${base}.batch_limit`);
  if (v.rate_limit !== undefined && v.rate_limit !== null) {
    const r = v.rate_limit;
    if (!isObject(r)) throw new ApiLimitsError('expected an object with "global" and "per_role"', `${base}.rate_limit`);
    const perRole: Record<string, RateOption> = {};
    if (isObject(r.per_role)) for (const [role, o] of Object.entries(r.per_role)) perRole[role] = rateOption(o, `${base}.rate_limit.per_role.${role}`);
    out.rate = { global: r.global === undefined || r.global === null ? undefined : rateOption(r.global, `${base}.rate_limit.global`), perRole };
  }
  return out;
}

/** The limit for `role` (its own entry, else the global one); undefined = none. Admin: none. */
export function limitFor(limits: ApiLimits, kind: 'depth' | 'node' | 'time' | 'batch', role: string): number | undefined {
  if (limits.disabled || role === 'admin') return undefined;
  const o = limits[kind];
  if (!o) return undefined;
  return o.perRole[role] ?? o.global;
}

/** Combines an env ceiling (0 = none) with an api_limits value: the stricter one wins. */
export function stricter(envLimit: number, apiLimit: number | undefined): number {
  if (apiLimit === undefined) return envLimit;
  if (envLimit === 0) return apiLimit;
  return Math.min(envLimit, apiLimit);
}

/**
 * Sliding-window rate limiter ("sliding window approach", Hasura's api-limits doc), approximated
 * with two fixed one-minute windows weighted by overlap — O(1) memory per key. `now` is injected
 * so tests can drive the clock.
 */
export class RateLimiter {
  private readonly windows = new Map<string, { start: number; count: number; prev: number }>();
  private static readonly WINDOW_MS = 60_000;
  /** Bounds memory under key churn (a client minting session values); oldest keys go first. */
  private static readonly MAX_KEYS = 100_000;

  constructor(private readonly now: () => number = Date.now) {}

  /** Counts one operation for `key`; false when it would exceed `max` per minute. */
  take(key: string, max: number): boolean {
    const t = this.now();
    const W = RateLimiter.WINDOW_MS;
    const start = t - (t % W);
    let w = this.windows.get(key);
    if (!w) {
      if (this.windows.size >= RateLimiter.MAX_KEYS) this.windows.delete(this.windows.keys().next().value!);
      w = { start, count: 0, prev: 0 };
      this.windows.set(key, w);
    } else if (w.start !== start) {
      w.prev = w.start === start - W ? w.count : 0;
      w.start = start;
      w.count = 0;
    }
    const estimate = w.prev * ((W - (t - start)) / W) + w.count;
    if (estimate + 1 > max) return false;
    w.count++;
    return true;
  }
}

/** The rate key and limit for a request, or undefined when no rate limit applies. */
export function rateFor(
  limits: ApiLimits, role: string, vars: Record<string, string>, clientIp: string | undefined,
): { key: string; max: number } | undefined {
  if (limits.disabled || role === 'admin' || !limits.rate) return undefined;
  const o = limits.rate.perRole[role] ?? limits.rate.global;
  if (!o) return undefined;
  let suffix = '';
  if (o.uniqueParams === 'IP') suffix = `ip=${clientIp ?? ''}`;
  else if (o.uniqueParams) suffix = o.uniqueParams.map((p) => `${p}=${vars[p] ?? ''}`).join('&');
  return { key: `${role}\0${suffix}`, max: o.maxReqsPerMin };
}
