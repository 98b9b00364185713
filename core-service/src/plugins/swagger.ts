import type { FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { jsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod';

export const OPENAPI_PATH = '/v1/core/openapi.json';

/** OpenAPI 3 generated from the routes' zod schemas (STYLE.md §2), plus Swagger UI. */
export async function swaggerPlugin(app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Linkport core',
        version: '1.0.0',
        description:
          'Users, sessions, JWT/JWKS, API keys and the gateway forwardAuth endpoint. Every error answers ' +
          '`{"error": {"code", "message", "details"?, "requestId"?}}`.',
      },
      components: {
        securitySchemes: {
          bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT (or an lp_ API key where stated)' },
        },
      },
      tags: [
        { name: 'auth', description: 'Registration, login and sessions' },
        { name: 'me', description: 'The signed-in account' },
        { name: 'api-keys', description: 'Keys for machines' },
        { name: 'keys', description: 'Token verification keys' },
      ],
    },
    transform: jsonSchemaTransform,
    transformObject: jsonSchemaTransformObject,
  });
  await app.register(swaggerUi, { routePrefix: '/v1/core/docs' });
  app.get(OPENAPI_PATH, { schema: { hide: true } }, async () => app.swagger());
}
