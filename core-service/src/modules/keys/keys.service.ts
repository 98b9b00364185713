import {
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  importJWK,
  jwtVerify,
  SignJWT,
  type JWK,
  type JWTPayload,
  type JWTHeaderParameters,
} from 'jose';
import type { FastifyBaseLogger as Logger } from 'fastify';
import { withTransaction, type Pool } from '@linkport/common';
import type { PrivateJwk } from '../../config.ts';
import { seconds, type Clock } from '../../lib/clock.ts';
import * as repo from './keys.repository.ts';

export const ALG = 'RS256';
/** The longest-lived token core signs (password-session access tokens). */
export const ACCESS_TOKEN_TTL_SECONDS = 15 * 60;
/** Leeway for clocks of the services verifying our tokens (RFC 7519 §4.1.4 allows "some small leeway"). */
export const CLOCK_TOLERANCE_SECONDS = 30;
/** A retired key stays published this long: every token it signed has expired by then. */
export const RETIRED_KEY_GRACE_MS = (ACCESS_TOKEN_TTL_SECONDS + 2 * CLOCK_TOLERANCE_SECONDS) * 1000;

type Key = Awaited<ReturnType<typeof importJWK>>;
interface VerifyKey {
  kid: string;
  key: Key;
  publicJwk: JWK;
  verifyUntil: number | null;
}

export interface KeyStoreOptions {
  pool: Pool;
  clock: Clock;
  log: Logger;
  issuer: string;
  audience: string;
  /** JWT_PRIVATE_KEYS: the first one signs, the rest only verify. The database is then not used. */
  privateKeys?: PrivateJwk[];
  /** How often other instances' rotations are picked up. */
  reloadIntervalMs?: number;
}

export class InvalidTokenError extends Error {}

function publicPart(jwk: JWK): JWK {
  return { kty: jwk.kty, n: jwk.n, e: jwk.e };
}

export async function newSigningKey(): Promise<{ kid: string; publicJwk: JWK; privateJwk: JWK }> {
  const { privateKey } = await generateKeyPair(ALG, { modulusLength: 2048, extractable: true });
  const privateJwk = await exportJWK(privateKey);
  // RFC 7638 thumbprint as kid: stable, derived from the key, and unique without coordination.
  const kid = await calculateJwkThumbprint(publicPart(privateJwk), 'sha256');
  return { kid, publicJwk: { ...publicPart(privateJwk), kid, alg: ALG, use: 'sig' }, privateJwk: { ...privateJwk, kid, alg: ALG } };
}

/**
 * Adds a new current key and retires the previous ones; they keep verifying (and stay in the
 * JWKS) for RETIRED_KEY_GRACE_MS, until every token they signed has expired.
 */
export async function rotateSigningKeys(pool: Pool, clock: Clock): Promise<{ kid: string; retired: string[] }> {
  const k = await newSigningKey();
  return withTransaction(pool, async (c) => {
    await repo.lockKeys(c);
    const now = new Date(clock());
    await repo.deleteDeadKeys(c, now);
    await repo.insertKey(c, { kid: k.kid, alg: ALG, publicJwk: k.publicJwk, privateJwk: k.privateJwk, createdAt: now });
    const retired = await repo.retireOthers(c, k.kid, now, new Date(now.getTime() + RETIRED_KEY_GRACE_MS));
    return { kid: k.kid, retired };
  });
}

/**
 * The in-memory key set: signing with the current key and verifying with every live one, with no
 * database round trip on the hot path. Keys are reloaded periodically and when a token names an
 * unknown `kid` (another instance rotated), at most once per `minReloadGapMs`.
 */
export class KeyStore {
  private signing: { kid: string; key: Key } | undefined;
  private verifyKeys = new Map<string, VerifyKey>();
  private timer: NodeJS.Timeout | undefined;
  private reloading: Promise<void> | undefined;
  /** Last reload forced by an unknown kid: a flood of forged kids costs one query per gap. */
  private lastForcedReload = Number.NEGATIVE_INFINITY;
  private readonly minReloadGapMs = 5_000;

  constructor(private readonly opts: KeyStoreOptions) {}

  get fromEnv(): boolean {
    return this.opts.privateKeys !== undefined;
  }

  async init(): Promise<void> {
    if (this.opts.privateKeys) {
      await this.loadFromEnv(this.opts.privateKeys);
      return;
    }
    await this.ensureOneKey();
    await this.reload();
    const every = this.opts.reloadIntervalMs ?? 60_000;
    this.timer = setInterval(() => {
      this.reload().catch((err: unknown) => this.opts.log.warn({ err }, 'signing key reload failed'));
    }, every);
    this.timer.unref();
  }

  close(): void {
    clearInterval(this.timer);
  }

  private async loadFromEnv(keys: PrivateJwk[]): Promise<void> {
    const loaded: VerifyKey[] = [];
    let signing: { kid: string; key: Key } | undefined;
    for (const jwk of keys) {
      const pub = publicPart(jwk as JWK);
      const kid = jwk.kid ?? (await calculateJwkThumbprint(pub, 'sha256'));
      const priv = await importJWK({ ...(jwk as JWK), alg: ALG }, ALG);
      signing ??= { kid, key: priv };
      loaded.push({ kid, key: await importJWK({ ...pub, alg: ALG }, ALG), publicJwk: { ...pub, kid, alg: ALG, use: 'sig' }, verifyUntil: null });
    }
    this.signing = signing;
    this.verifyKeys = new Map(loaded.map((k) => [k.kid, k]));
  }

  /**
   * First start (or every key retired by hand): generate a current key unless another instance
   * already did (advisory lock).
   */
  private async ensureOneKey(): Promise<void> {
    const k = await newSigningKey();
    await withTransaction(this.opts.pool, async (c) => {
      await repo.lockKeys(c);
      if ((await repo.countCurrentKeys(c)) > 0) return;
      await repo.insertKey(c, { kid: k.kid, alg: ALG, publicJwk: k.publicJwk, privateJwk: k.privateJwk, createdAt: new Date(this.opts.clock()) });
      this.opts.log.info({ kid: k.kid }, 'generated the first JWT signing key');
    });
  }

  async reload(): Promise<void> {
    if (this.fromEnv) return;
    this.reloading ??= (async () => {
      try {
        const rows = await repo.listLiveKeys(this.opts.pool, new Date(this.opts.clock()));
        const next = new Map<string, VerifyKey>();
        let signing: { kid: string; key: Key } | undefined;
        for (const r of rows) {
          next.set(r.kid, {
            kid: r.kid,
            key: this.verifyKeys.get(r.kid)?.key ?? (await importJWK(publicPart(r.public_jwk as JWK), ALG)),
            publicJwk: r.public_jwk as JWK,
            verifyUntil: r.verify_until?.getTime() ?? null,
          });
          // Rows are newest first: the newest unretired key signs.
          if (!signing && r.retired_at === null) {
            const key = this.signing?.kid === r.kid ? this.signing.key : await importJWK(r.private_jwk as JWK, ALG);
            signing = { kid: r.kid, key };
          }
        }
        if (!signing) throw new Error('no current signing key in core.signing_keys');
        this.signing = signing;
        this.verifyKeys = next;
      } finally {
        this.reloading = undefined;
      }
    })();
    return this.reloading;
  }

  get currentKid(): string | undefined {
    return this.signing?.kid;
  }

  /** RFC 7517 §5 JWK Set of every key whose tokens may still be valid. */
  jwks(): { keys: JWK[] } {
    const now = this.opts.clock();
    return { keys: [...this.verifyKeys.values()].filter((k) => k.verifyUntil === null || k.verifyUntil > now).map((k) => k.publicJwk) };
  }

  async sign(claims: JWTPayload & { sub: string }, ttlSeconds: number): Promise<{ token: string; exp: number }> {
    const s = this.signing;
    if (!s) throw new Error('key store not initialised');
    const iat = seconds(this.opts.clock());
    const exp = iat + ttlSeconds;
    const token = await new SignJWT(claims)
      .setProtectedHeader({ alg: ALG, kid: s.kid, typ: 'JWT' })
      .setIssuer(this.opts.issuer)
      .setAudience(this.opts.audience)
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .sign(s.key);
    return { token, exp };
  }

  private async keyFor(header: JWTHeaderParameters): Promise<Key> {
    const kid = header.kid;
    if (!kid) throw new InvalidTokenError('token has no kid');
    let k = this.verifyKeys.get(kid);
    if (!k && !this.fromEnv && this.opts.clock() - this.lastForcedReload >= this.minReloadGapMs) {
      this.lastForcedReload = this.opts.clock();
      await this.reload();
      k = this.verifyKeys.get(kid);
    }
    if (!k) throw new InvalidTokenError('unknown signing key');
    if (k.verifyUntil !== null && k.verifyUntil <= this.opts.clock()) throw new InvalidTokenError('signing key retired');
    return k.key;
  }

  /** Verifies signature, `alg`, `iss`, `aud`, `exp`/`nbf` (RFC 8725 §3.1: pin the algorithm). */
  async verify(token: string): Promise<JWTPayload> {
    try {
      const { payload } = await jwtVerify(token, (h) => this.keyFor(h), {
        algorithms: [ALG],
        issuer: this.opts.issuer,
        audience: this.opts.audience,
        currentDate: new Date(this.opts.clock()),
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        requiredClaims: ['sub', 'exp', 'iat'],
      });
      return payload;
    } catch (err) {
      if (err instanceof InvalidTokenError) throw err;
      const code = (err as { code?: string }).code;
      throw new InvalidTokenError(code === 'ERR_JWT_EXPIRED' ? 'token expired' : 'invalid token');
    }
  }
}
