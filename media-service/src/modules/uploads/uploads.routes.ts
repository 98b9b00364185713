import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { assetIdParams, assetSchema, errorSchema } from '../assets/assets.schemas.ts';
import type { MediaDeps } from '../deps.ts';
import { identityOf, type Auth } from '../../plugins/auth.ts';
import { completeBody, createUploadBody, partsBody, partsSchema, uploadSchema } from './uploads.schemas.ts';
import { abortUpload, completeUpload, createUpload, partUrls } from './uploads.service.ts';

const errors = { 400: errorSchema, 401: errorSchema, 403: errorSchema, 404: errorSchema, 409: errorSchema, 410: errorSchema, 503: errorSchema };
const security = [{ bearerAuth: [] }];

export async function uploadsRoutes(base: FastifyInstance, deps: MediaDeps, auth: Auth): Promise<void> {
  const app = base.withTypeProvider<ZodTypeProvider>();
  const write = auth.requireScope('media:write');

  app.post('/v1/media/uploads', {
    onRequest: write,
    schema: {
      tags: ['uploads'],
      summary: 'Start an upload: a presigned PUT (single) or a multipart session',
      description:
        'The PUT URL signs content-type and content-length, so storage refuses any other type or size. ' +
        'Errors: 413 FILE_TOO_LARGE / QUOTA_EXCEEDED, 415 CONTENT_TYPE_NOT_ALLOWED.',
      security,
      body: createUploadBody,
      response: { 201: uploadSchema, 413: errorSchema, 415: errorSchema, ...errors },
    },
    handler: async (req, reply) => reply.code(201).send(await createUpload(deps, identityOf(req), req.body, req.log)),
  });

  app.post('/v1/media/uploads/:id/parts', {
    onRequest: write,
    schema: {
      tags: ['uploads'],
      summary: 'Presigned PUT URLs for parts of a multipart upload (equal sizes but the last)',
      security,
      params: assetIdParams,
      body: partsBody,
      response: { 200: partsSchema, ...errors },
    },
    handler: async (req) => partUrls(deps, identityOf(req), req.params.id, req.body.partNumbers),
  });

  app.post('/v1/media/uploads/:id/complete', {
    onRequest: write,
    // Up to 10 000 `{partNumber, etag}` pairs (~70 bytes each) exceed the service's 64 KiB default.
    bodyLimit: 1024 * 1024,
    schema: {
      tags: ['uploads'],
      summary: 'Verify the stored object (size, type, leading bytes) and mark the asset ready',
      description:
        'Errors: 422 SIZE_MISMATCH / CONTENT_TYPE_MISMATCH / CONTENT_MISMATCH (object deleted), ' +
        '422 MULTIPART_INVALID, 409 OBJECT_NOT_FOUND (not uploaded yet), 410 UPLOAD_EXPIRED.',
      security,
      params: assetIdParams,
      body: completeBody.nullish(),
      response: { 200: assetSchema, 422: errorSchema, ...errors },
    },
    handler: async (req) => completeUpload(deps, identityOf(req), req.params.id, req.body?.parts, req.log),
  });

  app.post('/v1/media/uploads/:id/abort', {
    onRequest: write,
    schema: {
      tags: ['uploads'],
      summary: 'Abort a pending upload (multipart included); idempotent',
      security,
      params: assetIdParams,
      response: { 204: z.null(), ...errors },
    },
    handler: async (req, reply) => {
      await abortUpload(deps, identityOf(req), req.params.id, req.log);
      return reply.code(204).send(null);
    },
  });
}
