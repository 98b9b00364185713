import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod, ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Readable } from 'node:stream';
import { ForbiddenError, UnauthorizedError } from '@linkport/common';
import { bearerSecurity, errors } from '../../http/schemas.ts';
import { bearerToken, type CredentialVerifier } from '../verify/verify.service.ts';
import { Download, ExportBody, ImportQuery, Job, JobList, JobParams, ProblemList, ProblemsQuery, toJobOut } from './transfer.schemas.ts';
import type { TransferService } from './transfer.service.ts';

export interface TransferRoutesOptions {
  transfer: TransferService;
  verifier: CredentialVerifier;
  maxImportBytes: number;
}

const owners = new WeakMap<FastifyRequest, string>();

/**
 * Any credential of the user — a session or an API key (directly, or as the JWT the gateway's
 * forwardAuth minted for it) — holding the scope: exports read links (`links:read`), imports
 * write them (`links:write`). Every job is its owner's only.
 */
function requireScope(verifier: CredentialVerifier, scope: 'links:read' | 'links:write') {
  return async (req: FastifyRequest): Promise<void> => {
    const token = bearerToken(req.headers.authorization);
    if (!token) throw new UnauthorizedError('Send an access token or API key: Authorization: Bearer <token>');
    const identity = await verifier.verify(token);
    if (!identity.scopes.includes(scope)) throw new ForbiddenError(`This credential lacks the ${scope} scope`, 'INSUFFICIENT_SCOPE');
    owners.set(req, identity.userId);
  };
}

function owner(req: FastifyRequest): string {
  const id = owners.get(req);
  if (!id) throw new UnauthorizedError();
  return id;
}

export const transferRoutes: FastifyPluginAsyncZod<TransferRoutesOptions> = async (app, { transfer, verifier, maxImportBytes }) => {
  const read = requireScope(verifier, 'links:read');

  app.post(
    '/transfer/exports',
    {
      preHandler: read,
      schema: {
        tags: ['transfer'],
        summary: 'Queue an export: links (CSV or JSON), raw clicks or daily analytics (CSV) for a range',
        description: 'Answers 202 with the job; poll GET transfer/jobs/{id} for progress, then GET …/download for a presigned URL.',
        security: bearerSecurity,
        body: ExportBody,
        response: { 202: Job, ...errors(400, 401, 403, 413, 415, 429, 503) },
      },
    },
    async (req, reply) => {
      void reply.code(202);
      return toJobOut(await transfer.createExport(owner(req), req.body));
    },
  );

  app.get(
    '/transfer/jobs',
    { preHandler: read, schema: { tags: ['transfer'], summary: 'Your 50 latest import and export jobs', security: bearerSecurity, response: { 200: JobList, ...errors(401, 403) } } },
    async (req) => ({ items: (await transfer.list(owner(req))).map(toJobOut) }),
  );

  app.get(
    '/transfer/jobs/:id',
    {
      preHandler: read,
      schema: { tags: ['transfer'], summary: 'A job: status, progress, result', security: bearerSecurity, params: JobParams, response: { 200: Job, ...errors(400, 401, 403, 404) } },
    },
    async (req) => toJobOut(await transfer.get(owner(req), req.params.id)),
  );

  app.get(
    '/transfer/jobs/:id/problems',
    {
      preHandler: read,
      schema: {
        tags: ['transfer'],
        summary: "An import's problems, by line of the file",
        description: 'CSV: the line the record ends on (the header is line 1); JSON: the item number.',
        security: bearerSecurity,
        params: JobParams,
        querystring: ProblemsQuery,
        response: { 200: ProblemList, ...errors(400, 401, 403, 404) },
      },
    },
    async (req) => transfer.problems(owner(req), req.params.id, req.query.offset, req.query.limit),
  );

  app.get(
    '/transfer/jobs/:id/download',
    {
      preHandler: read,
      schema: {
        tags: ['transfer'],
        summary: "A presigned URL for an export's file",
        security: bearerSecurity,
        params: JobParams,
        response: { 200: Download, ...errors(400, 401, 403, 404, 409, 410, 503) },
      },
    },
    async (req, reply) => {
      void reply.header('cache-control', 'no-store');
      return transfer.download(owner(req), req.params.id);
    },
  );

  // The upload takes the raw body as a stream (any content type), in its own scope so the JSON
  // parser of the other routes is untouched.
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_req, payload, done) => done(null, payload));
    const raw = scope.withTypeProvider<ZodTypeProvider>();
    raw.post(
      '/transfer/imports',
      {
        preHandler: requireScope(verifier, 'links:write'),
        bodyLimit: maxImportBytes,
        schema: {
          tags: ['transfer'],
          summary: 'Upload a file and queue its import (or a dry run)',
          description:
            'The body is the file (text/csv or application/json), at most TRANSFER_MAX_IMPORT_BYTES. Codes are kept where free; a taken code is reported as CODE_CONFLICT. Re-running the same file changes nothing. The import is one transaction: a crash rolls it back and the job starts again.',
          security: bearerSecurity,
          querystring: ImportQuery,
          response: { 202: Job, ...errors(400, 401, 403, 413, 429, 503) },
        },
      },
      async (req, reply) => {
        const length = req.headers['content-length'];
        const job = await transfer.createImport(owner(req), req.query.format, req.query.dry_run, req.body as Readable | undefined, length === undefined ? undefined : Number(length));
        void reply.code(202);
        return toJobOut(job);
      },
    );
  });
};
