/**
 * Retry delay after a failed attempt: exponential (base · factor^(attempt−1), capped) with "equal
 * jitter" (half the delay fixed, half random) so endpoints that failed together do not retry in
 * lock-step (AWS Architecture Blog, "Exponential Backoff And Jitter"). With the defaults (30 s ·
 * 3^n, cap 6 h, 10 attempts) the schedule spans about a day, as Standard Webhooks senders do.
 */
export interface BackoffPolicy {
  baseMs: number;
  factor: number;
  capMs: number;
  maxAttempts: number;
}

export function retryDelayMs(policy: BackoffPolicy, attempt: number, random: () => number = Math.random): number {
  const exp = Math.min(policy.capMs, policy.baseMs * policy.factor ** Math.max(0, attempt - 1));
  return Math.round(exp / 2 + random() * (exp / 2));
}
