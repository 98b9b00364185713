import type { FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { jsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod';

export const OPENAPI_PATH = '/v1/core/openapi.json';

interface OpenApiDoc {
  paths?: Record<string, Record<string, { requestBody?: { required?: boolean; content?: Record<string, { schema?: { nullable?: boolean } }> } }>>;
  components?: { schemas?: Record<string, unknown> };
  [k: string]: unknown;
}

/**
 * The zod transform registers every named schema twice (an input and an output variant); keep only
 * those the document references. A body the route accepts as absent (nullish) is not required.
 */
function tidy(doc: OpenApiDoc): OpenApiDoc {
  for (const ops of Object.values(doc.paths ?? {})) {
    for (const op of Object.values(ops)) {
      const body = op.requestBody;
      if (body && Object.values(body.content ?? {}).some((c) => c.schema?.nullable)) body.required = false;
    }
  }
  const schemas = doc.components?.schemas;
  if (schemas) {
    const { components, ...rest } = doc;
    const referenced = (name: string) => JSON.stringify(rest).includes(`"#/components/schemas/${name}"`);
    // Referenced from other components counts too, so iterate until nothing more is dropped.
    let kept = Object.fromEntries(Object.entries(schemas).filter(([n]) => referenced(n)));
    for (;;) {
      const text = JSON.stringify(kept);
      const more = Object.fromEntries(Object.entries(schemas).filter(([n]) => !(n in kept) && text.includes(`"#/components/schemas/${n}"`)));
      if (Object.keys(more).length === 0) break;
      kept = { ...kept, ...more };
    }
    doc.components = { ...components, schemas: kept };
  }
  return doc;
}

/** OpenAPI 3 generated from the routes' zod schemas (docs/style.md §2), plus Swagger UI. */
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
    transformObject: (doc) => tidy(jsonSchemaTransformObject(doc) as OpenApiDoc),
  });
  await app.register(swaggerUi, { routePrefix: '/v1/core/docs' });
  app.get(OPENAPI_PATH, { schema: { hide: true } }, async () => app.swagger());
}
