import fc from 'fast-check';

/**
 * Imperative helpers over fast-check's `fc.gen()`: every case is drawn from one seeded arbitrary
 * (`fc.sample(arb, { seed, numRuns: 1 })`), so `(seed, index)` reproduces a request exactly.
 */
export type Gen = fc.GeneratorValue;

export class Rand {
  constructor(private readonly g: Gen) {}

  int(min: number, max: number): number {
    return this.g(fc.integer, { min, max });
  }

  chance(p: number): boolean {
    return this.int(0, 9999) < p * 10_000;
  }

  pick<T>(xs: readonly T[]): T {
    if (xs.length === 0) throw new Error('pick from an empty list');
    return xs[this.int(0, xs.length - 1)] as T;
  }

  /** Weighted choice: [[weight, value], …]. */
  weighted<T>(xs: ReadonlyArray<readonly [number, T]>): T {
    const total = xs.reduce((s, [w]) => s + w, 0);
    let n = this.int(0, total - 1);
    for (const [w, v] of xs) {
      if (n < w) return v;
      n -= w;
    }
    return (xs.at(-1) as readonly [number, T])[1];
  }

  /** fast-check's own string generator, any code unit (lone surrogates included). */
  fcString(maxLength: number): string {
    return this.g(fc.string, { unit: 'binary', maxLength });
  }

  /** A JSON value of fast-check's generator (any depth up to `maxDepth`). */
  json(maxDepth: number): unknown {
    return this.g(fc.jsonValue, { maxDepth });
  }

  /** A short string from the hostile alphabet below, or fast-check's own. */
  nasty(maxLength = 64): string {
    return this.weighted<() => string>([
      [3, () => this.pick(NASTY)],
      [2, () => this.fcString(maxLength)],
      [1, () => Array.from({ length: this.int(1, 8) }, () => this.pick(NASTY)).join('')],
      [1, () => this.pick(NASTY).repeat(this.int(2, 200))],
    ])();
  }

  /** A printable identifier, as a user would type one. */
  word(): string {
    const n = this.int(1, 12);
    let s = '';
    for (let i = 0; i < n; i++) s += WORD_CHARS[this.int(0, WORD_CHARS.length - 1)] ?? '_';
    return s;
  }
}

const WORD_CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-';

/** Inputs that have broken parsers, databases and templates before. */
export const NASTY: readonly string[] = [
  '',
  ' ',
  '\u0000',
  '\u0000abc',
  '\ud800',
  '\udfff',
  'a\ud83dz',
  '\ud83d\ude00',
  '\u202e\u0041\u0042',
  '\ufeff',
  '\uffff',
  '\r\n',
  '\r\nX-Injected: 1',
  '%00',
  '%',
  '%zz',
  '%c0%ae',
  '%ff%fe',
  '..',
  '../../../../etc/passwd',
  '..%2f..%2f',
  '%2e%2e%2f',
  "' OR '1'='1",
  "'; DROP TABLE links.links; --",
  '$1',
  '\\',
  '"',
  '`',
  '${7*7}',
  '{{7*7}}',
  '<script>alert(1)</script>',
  '%s%s%n',
  'NaN',
  '-0',
  '1e309',
  '9007199254740993',
  '-9223372036854775809',
  'null',
  'true',
  '__proto__',
  'constructor',
  'prototype',
  'https://evil.example/',
  'javascript:alert(1)',
  'data:text/html,<b>x</b>',
  'ping',
  'health',
  'metrics',
  'Ω≈ç√∫',
  '𝕃𝕚𝕟𝕜',
  'ﷺ',
  'Ⅻ',
  'ß',
  'İ',
];

/**
 * encodeURIComponent that does not throw on a lone surrogate: it is encoded as WTF-8 bytes
 * (U+D800 → %ED%A0%80), the form a hostile client puts on the wire.
 */
export function pct(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const cu = s.charCodeAt(i);
    const isHigh = cu >= 0xd800 && cu <= 0xdbff;
    const next = s.charCodeAt(i + 1);
    if (isHigh && next >= 0xdc00 && next <= 0xdfff) {
      out += encodeURIComponent(s.slice(i, i + 2));
      i++;
    } else if (cu >= 0xd800 && cu <= 0xdfff) {
      out += [0xe0 | (cu >> 12), 0x80 | ((cu >> 6) & 0x3f), 0x80 | (cu & 0x3f)].map((b) => `%${b.toString(16).toUpperCase()}`).join('');
    } else out += encodeURIComponent(s[i] as string);
  }
  return out;
}
