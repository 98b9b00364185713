/**
 * Go `time.Duration` in both directions, as Traefik's config and headers use it.
 * Parsing follows `time.ParseDuration`; Traefik's `ptypes.Duration` also takes a bare number as
 * seconds (`period: 10`). Formatting follows `Duration.String()` (used for `X-Retry-In`).
 */
const units: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, 'μs': 1e-3, ms: 1, s: 1e3, m: 6e4, h: 3.6e6 };

/** Returns milliseconds, or undefined when `value` is not a Go duration. */
export function parseDuration(value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value * 1000 : undefined;
  const s = value.trim();
  if (/^[+-]?\d+(\.\d+)?$/.test(s)) return Number(s) * 1000;
  if (s === '0') return 0;
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/gy;
  let sign = 1;
  let rest = s;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    sign = rest.startsWith('-') ? -1 : 1;
    rest = rest.slice(1);
  }
  if (rest === '') return undefined;
  let total = 0;
  let consumed = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(rest)) !== null) {
    total += Number(m[1]) * (units[m[2] as string] as number);
    consumed = re.lastIndex;
  }
  return consumed === rest.length ? sign * total : undefined;
}

function fmtFrac(v: number, div: number): string {
  const digits = Math.round(Math.log10(div));
  const int = Math.floor(v / div);
  const frac = v - int * div;
  if (frac === 0) return String(int);
  return `${int}.${String(frac).padStart(digits, '0').replace(/0+$/, '')}`;
}

/** Go's `time.Duration.String()` for a duration given in nanoseconds (e.g. `1.5s`, `1m0s`, `300ms`). */
export function formatGoDuration(nanoseconds: number): string {
  let u = Math.round(Math.abs(nanoseconds));
  const sign = nanoseconds < 0 ? '-' : '';
  if (u === 0) return '0s';
  if (u < 1e3) return `${sign}${u}ns`;
  if (u < 1e6) return `${sign}${fmtFrac(u, 1e3)}µs`;
  if (u < 1e9) return `${sign}${fmtFrac(u, 1e6)}ms`;
  const h = Math.floor(u / 3.6e12);
  u -= h * 3.6e12;
  const m = Math.floor(u / 6e10);
  u -= m * 6e10;
  let out = `${fmtFrac(u, 1e9)}s`;
  if (h > 0 || m > 0) out = `${m}m${out}`;
  if (h > 0) out = `${h}h${out}`;
  return sign + out;
}
