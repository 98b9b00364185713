import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { MediaDeps } from '../deps.ts';
import { identityOf, type Auth } from '../../plugins/auth.ts';
import { assetIdParams, assetListSchema, assetWithUrlSchema, errorSchema, listQuery } from './assets.schemas.ts';
import { accessUrl, assetWithUrl, deleteAsset, findOwned, listAssets } from './assets.service.ts';
import { verifyStored } from './integrity.ts';
import { ConflictError } from '@linkport/common';

const errors = { 400: errorSchema, 401: errorSchema, 403: errorSchema, 404: errorSchema, 503: errorSchema };
const security = [{ bearerAuth: [] }];

export async function assetsRoutes(base: FastifyInstance, deps: MediaDeps, auth: Auth): Promise<void> {
  const app = base.withTypeProvider<ZodTypeProvider>();
  const read = auth.requireScope('media:read');
  const write = auth.requireScope('media:write');

  app.get('/v1/media/assets', {
    onRequest: read,
    schema: {
      tags: ['assets'],
      summary: 'List your assets (newest first, keyset pagination)',
      security,
      querystring: listQuery,
      response: { 200: assetListSchema, ...errors },
    },
    handler: async (req) => listAssets(deps, identityOf(req), req.query),
  });

  app.get('/v1/media/assets/:id', {
    onRequest: read,
    schema: {
      tags: ['assets'],
      summary: 'One asset, with its public URL or a presigned GET when private',
      security,
      params: assetIdParams,
      response: { 200: assetWithUrlSchema, ...errors },
    },
    handler: async (req) => assetWithUrl(deps, await findOwned(deps, identityOf(req), req.params.id), req.log),
  });

  app.get('/v1/media/assets/:id/download', {
    onRequest: read,
    schema: {
      tags: ['assets'],
      summary: 'Redirect (302) to a fresh presigned GET with Content-Disposition: attachment',
      description: 'Errors: 409 ASSET_NOT_READY, 409 ASSET_QUARANTINED (the stored file changed after complete verified it).',
      security,
      params: assetIdParams,
      response: { 302: z.null().describe('Location: the presigned URL'), 409: errorSchema, ...errors },
    },
    handler: async (req, reply) => {
      const row = await verifyStored(deps, await findOwned(deps, identityOf(req), req.params.id), req.log);
      if (row.status === 'quarantined') {
        throw new ConflictError('The stored file changed after it was verified; it is withheld', 'ASSET_QUARANTINED', { status: row.status });
      }
      if (row.status !== 'ready') throw new ConflictError('Asset is not ready', 'ASSET_NOT_READY', { status: row.status });
      const { url } = await accessUrl(deps, row, 'attachment');
      // The URL is a short-lived credential: keep it out of shared caches.
      return reply.header('cache-control', 'private, no-store').redirect(url, 302);
    },
  });

  app.delete('/v1/media/assets/:id', {
    onRequest: write,
    schema: {
      tags: ['assets'],
      summary: 'Delete the object and the record (idempotent: 204 again)',
      security,
      params: assetIdParams,
      response: { 204: z.null(), ...errors },
    },
    handler: async (req, reply) => {
      await deleteAsset(deps, identityOf(req), req.params.id, req.log);
      return reply.code(204).send(null);
    },
  });
}
