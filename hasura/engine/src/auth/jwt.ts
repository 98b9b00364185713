/**
 * JWT mode (docs/docs/auth/authentication/jwt.mdx; server/src-lib/Hasura/Server/Auth/JWT.hs
 * `processJwt`, `parseClaimsMap`): the token from the configured header, verified, its Hasura
 * claims read from the namespace (or `claims_map`), the role checked against the allowed roles.
 * Error messages and codes are Hasura's (docs/research/hasura-v2.md §B.4); statuses are 400 as in Hasura
 * (test_jwt.py expects 400 on /v1alpha1/graphql).
 */
import {
  decodeProtectedHeader,
  errors as joseErrors,
  importSPKI,
  importX509,
  jwtVerify,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';
import type { Session } from '../contract.ts';
import { QErr, authError } from '../errors.ts';
import { defaultClaimsNamespace, type JwtConfig } from './jwt.config.ts';
import { JwksCache, type JwksCacheOptions } from './jwks.ts';
import { parseJsonPath, readJsonPath, type JsonPath } from '../jsonpath.ts';

export interface AuthResult {
  session: Session;
  /** Epoch ms after which the credential stops being valid (JWT `exp`); websockets close then. */
  expiresAt?: number | undefined;
}

const jwtError = (message: string) => authError(400, 'invalid-jwt', `Could not verify JWT: ${message}`);
const invalidClaims = (message: string) => authError(400, 'jwt-invalid-claims', message);
/** parseJwtConfig has checked every path; a config built by hand with a bad one finds no claims. */
function claimPath(path: string): JsonPath {
  const p = parseJsonPath(path);
  if (!p) throw invalidClaims(`invalid JSON path: ${path}`);
  return p;
}

/** jose's failure → the Haskell `jose` library's error as Hasura prints it. */
function mapJoseError(err: unknown): QErr {
  if (err instanceof joseErrors.JWTExpired) return jwtError('JWTExpired');
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    if (err.claim === 'aud') return jwtError('JWTNotInAudience');
    if (err.claim === 'iss') return jwtError('JWTNotInIssuer');
    if (err.claim === 'nbf') return jwtError('JWTNotYetValid');
    if (err.claim === 'iat') return jwtError('JWTIssuedAtFuture');
    return jwtError(`JWTClaimsSetDecodeError "${err.message}"`);
  }
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return jwtError('JWSError JWSInvalidSignature');
  if (err instanceof joseErrors.JWKSNoMatchingKey || err instanceof joseErrors.JWKSMultipleMatchingKeys) {
    return jwtError('JWSError NoUsableKeys');
  }
  if (err instanceof joseErrors.JOSEAlgNotAllowed) return jwtError('JWSError (AlgorithmMismatch "JWT algorithm does not match JWK")');
  if (err instanceof joseErrors.JWSInvalid || err instanceof joseErrors.JWTInvalid) {
    return jwtError(`JWSError (CompactDecodeError ${err.message})`);
  }
  if (err instanceof QErr) return err;
  return jwtError(`JWSError (JSONDecodeError "${err instanceof Error ? err.message : String(err)}")`);
}

type VerifyKey = Awaited<ReturnType<typeof importSPKI>> | Uint8Array;
type KeySource = (kid: string | undefined) => Promise<Parameters<typeof jwtVerify>[1]>;

export class JwtVerifier {
  private readonly config: JwtConfig;
  private readonly keySource: KeySource;
  private readonly algorithms: string[] | undefined;
  private staticKey: Promise<VerifyKey> | undefined;
  readonly jwks: JwksCache | undefined;

  constructor(config: JwtConfig, opts: JwksCacheOptions = {}) {
    this.config = config;
    if (config.jwk_url) {
      const jwks = new JwksCache(config.jwk_url, opts);
      this.jwks = jwks;
      this.algorithms = undefined;
      this.keySource = async (kid) => (await jwks.resolver(kid)) as JWTVerifyGetKey;
    } else {
      const type = config.type!;
      const alg = type === 'Ed25519' ? 'EdDSA' : type;
      this.algorithms = [alg];
      this.keySource = () => {
        this.staticKey ??= importStaticKey(alg, config.key!);
        return this.staticKey;
      };
    }
  }

  /** Where the token travels (JWTConfig `header`): `Authorization: Bearer`, a cookie, or a custom header. */
  private tokenFrom(headers: Record<string, string>): string | undefined {
    const h = this.config.header;
    if (!h || h.type === 'Authorization') {
      const v = headers['authorization'];
      if (v === undefined) return undefined;
      const m = /^Bearer\s+(.+)$/i.exec(v.trim());
      if (!m) throw authError(400, 'invalid-headers', 'Malformed Authorization header');
      return m[1]!.trim();
    }
    if (h.type === 'Cookie') {
      const cookie = headers['cookie'];
      if (!cookie) return undefined;
      for (const part of cookie.split(';')) {
        const eq = part.indexOf('=');
        if (eq > 0 && part.slice(0, eq).trim() === h.name) return decodeURIComponent(part.slice(eq + 1).trim());
      }
      return undefined;
    }
    return headers[h.name.toLowerCase()];
  }

  hasToken(headers: Record<string, string>): boolean {
    const h = this.config.header;
    if (!h || h.type === 'Authorization') return headers['authorization'] !== undefined;
    return this.tokenFrom(headers) !== undefined;
  }

  async authenticate(headers: Record<string, string>): Promise<AuthResult> {
    const token = this.tokenFrom(headers);
    if (token === undefined) {
      throw authError(400, 'invalid-headers', "Missing 'Authorization' or 'Cookie' header in JWT authentication mode");
    }
    let payload: JWTPayload;
    try {
      let kid: string | undefined;
      try {
        kid = decodeProtectedHeader(token).kid;
      } catch {
        kid = undefined;
      }
      const key = await this.keySource(kid);
      const verified = await jwtVerify(token, key as VerifyKey, {
        ...(this.algorithms ? { algorithms: this.algorithms } : {}),
        ...(this.config.audience !== undefined ? { audience: this.config.audience } : {}),
        ...(this.config.issuer !== undefined ? { issuer: this.config.issuer } : {}),
        clockTolerance: this.config.allowed_skew ?? 0,
      });
      payload = verified.payload;
    } catch (err) {
      throw mapJoseError(err);
    }
    const claims = this.hasuraClaims(payload);
    const session = sessionFromClaims(claims, headers);
    return { session, expiresAt: typeof payload.exp === 'number' ? payload.exp * 1000 : undefined };
  }

  /** The `x-hasura-*` claims, keys lower-cased (claim names are case-insensitive in Hasura). */
  private hasuraClaims(payload: JWTPayload): Record<string, unknown> {
    const cfg = this.config;
    if (cfg.claims_map) {
      const out: Record<string, unknown> = {};
      for (const [name, spec] of Object.entries(cfg.claims_map)) {
        const key = name.toLowerCase();
        if (typeof spec === 'string' || Array.isArray(spec)) {
          out[key] = spec;
          continue;
        }
        const v = readJsonPath(payload, claimPath(spec.path));
        if (v === undefined) {
          if (spec.default !== undefined) out[key] = spec.default;
          else throw invalidClaims(`JWT claim from claims_map, ${key} not found`);
        } else {
          out[key] = v;
        }
      }
      return out;
    }
    let raw: unknown;
    let where: string;
    if (cfg.claims_namespace_path) {
      raw = readJsonPath(payload, claimPath(cfg.claims_namespace_path));
      where = cfg.claims_namespace_path;
    } else {
      where = cfg.claims_namespace ?? defaultClaimsNamespace;
      raw = (payload as Record<string, unknown>)[where];
    }
    if (raw === undefined) throw invalidClaims(`claims key: '${where}' not found`);
    if (cfg.claims_format === 'stringified_json') {
      if (typeof raw !== 'string') throw invalidClaims('expected a stringified JSON object in the claims');
      try {
        raw = JSON.parse(raw);
      } catch {
        throw invalidClaims('expected a stringified JSON object in the claims');
      }
    }
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
      throw invalidClaims(`Claims should be a JSON object`);
    }
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(raw as Record<string, unknown>)) out[k.toLowerCase()] = v;
    return out;
  }
}

async function importStaticKey(alg: string, key: string): Promise<VerifyKey> {
  if (alg.startsWith('HS')) return new TextEncoder().encode(key);
  const pem = key.replace(/\\n/g, '\n');
  if (pem.includes('BEGIN CERTIFICATE')) return importX509(pem, alg);
  return importSPKI(pem, alg);
}

/** Role and session variables from verified claims (JWT.hs `processAuthZHeader`). */
export function sessionFromClaims(claims: Record<string, unknown>, headers: Record<string, string>): Session {
  const allowed = claims['x-hasura-allowed-roles'];
  if (allowed === undefined) {
    throw authError(400, 'jwt-missing-role-claims', 'JWT claim does not contain x-hasura-allowed-roles');
  }
  if (!Array.isArray(allowed) || !allowed.every((r) => typeof r === 'string')) {
    const found = Array.isArray(allowed) ? 'Array' : typeof allowed === 'string' ? 'String' : typeof allowed === 'number' ? 'Number' : 'Object';
    throw invalidClaims(
      `invalid x-hasura-allowed-roles; should be a list of roles: parsing [] failed, expected Array, but encountered ${found}`,
    );
  }
  const defaultRole = claims['x-hasura-default-role'];
  if (defaultRole === undefined) {
    throw authError(400, 'jwt-missing-role-claims', 'JWT claim does not contain x-hasura-default-role');
  }
  if (typeof defaultRole !== 'string') {
    throw invalidClaims('invalid x-hasura-default-role; should be a role: parsing Text failed, expected String');
  }
  const requested = headers['x-hasura-role'];
  const role = requested ?? defaultRole;
  if (!(allowed as string[]).includes(role)) {
    throw authError(400, 'access-denied', 'Your requested role is not in allowed roles');
  }
  const vars: Record<string, string> = {};
  for (const [k, v] of Object.entries(claims)) {
    if (!k.startsWith('x-hasura-') || k === 'x-hasura-allowed-roles' || k === 'x-hasura-default-role') continue;
    vars[k] = typeof v === 'string' ? v : JSON.stringify(v);
  }
  vars['x-hasura-role'] = role;
  return { role, vars, isAdmin: false };
}

