/**
 * HASURA_GRAPHQL_JWT_SECRET, parsed and checked as Hasura does at startup
 * (docs/docs/auth/authentication/jwt.mdx; server/src-lib/Hasura/Server/Auth/JWT.hs `JWTConfig`).
 */
import { z } from 'zod';
import { parseJsonPath } from '../jsonpath.ts';

const algs = ['HS256', 'HS384', 'HS512', 'RS256', 'RS384', 'RS512', 'Ed25519', 'ES256', 'ES384', 'ES512'] as const;
export type JwtAlgorithm = (typeof algs)[number];

/** A JSONPath, checked when the config is read (Hasura refuses a bad one at startup). */
const jsonPathString = (what: string) => z.string().refine((p) => parseJsonPath(p) !== undefined, { message: `invalid JSON path in ${what}` });

const claimsMapValue = z.union([
  z.object({ path: jsonPathString('claims_map'), default: z.unknown().optional() }),
  z.string(),
  z.array(z.string()),
]);

const jwtConfigSchema = z
  .object({
    type: z.enum(algs).optional(),
    key: z.string().optional(),
    jwk_url: z.string().url().optional(),
    claims_namespace: z.string().optional(),
    claims_namespace_path: jsonPathString('claims_namespace_path').optional(),
    claims_format: z.enum(['json', 'stringified_json']).default('json'),
    claims_map: z.record(z.string(), claimsMapValue).optional(),
    audience: z.union([z.string(), z.array(z.string())]).optional(),
    issuer: z.string().optional(),
    allowed_skew: z.number().int().min(0).optional(),
    header: z
      .union([
        z.object({ type: z.literal('Authorization') }),
        z.object({ type: z.literal('Cookie'), name: z.string() }),
        z.object({ type: z.literal('CustomHeader'), name: z.string() }),
      ])
      .optional(),
  })
  .superRefine((c, ctx) => {
    if (!c.jwk_url && !(c.type && c.key)) ctx.addIssue({ code: 'custom', message: 'key and type or jwk_url is required' });
    if (c.claims_namespace && c.claims_namespace_path) {
      ctx.addIssue({ code: 'custom', message: 'claims_namespace and claims_namespace_path both cannot be set' });
    }
  });

export type JwtConfig = z.infer<typeof jwtConfigSchema>;
export type ClaimsMapValue = z.infer<typeof claimsMapValue>;

export function parseJwtConfig(text: string): JwtConfig {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error('HASURA_GRAPHQL_JWT_SECRET is not valid JSON');
  }
  const r = jwtConfigSchema.safeParse(json);
  if (!r.success) throw new Error(r.error.issues.map((i) => i.message).join('; '));
  return r.data;
}

export const defaultClaimsNamespace = 'https://hasura.io/jwt/claims';
