import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { KeyStore } from './keys.service.ts';

const Jwk = z.object({ kty: z.string(), n: z.string(), e: z.string(), kid: z.string(), alg: z.string(), use: z.string() });
const Jwks = z.object({ keys: z.array(Jwk) }).meta({ id: 'JWKS' });

export const keysRoutes: FastifyPluginAsyncZod<{ keys: KeyStore }> = async (app, { keys }) => {
  app.get(
    '/.well-known/jwks.json',
    {
      schema: {
        tags: ['keys'],
        summary: 'JWK Set (RFC 7517 §5) of every key whose tokens may still be valid',
        response: { 200: Jwks },
      },
    },
    async (_req, reply) => {
      // Short enough that a rotated-in key reaches verifiers soon (jose's remote set also refetches
      // on an unknown kid); long enough to spare core a fetch per request.
      void reply.header('cache-control', 'public, max-age=300');
      return Jwks.parse(keys.jwks());
    },
  );
};
