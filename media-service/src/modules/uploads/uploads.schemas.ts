import { z } from 'zod';
import { assetSchema } from '../assets/assets.schemas.ts';

const presigned = z.object({
  method: z.literal('PUT'),
  url: z.string(),
  headers: z.record(z.string(), z.string()).describe('Send exactly these headers: they are signed'),
  expiresAt: z.iso.datetime(),
});

export const createUploadBody = z
  .object({
    filename: z.string().min(1).max(1024),
    contentType: z.string().min(3).max(255),
    size: z.number().int().positive().max(Number.MAX_SAFE_INTEGER),
    visibility: z.enum(['public', 'private']),
    checksum: z
      .string()
      .regex(/^[A-Za-z0-9+/]{43}=$/, 'base64 of a SHA-256 digest')
      .optional()
      .describe('Base64 SHA-256 of the content; signed into the PUT so storage checks the body (single uploads)'),
    multipart: z.boolean().optional().describe('Force (true) or refuse (false) multipart; default: by size'),
  })
  .meta({ id: 'CreateUpload' });

export const uploadSchema = z
  .object({
    id: z.uuid(),
    asset: assetSchema,
    mode: z.enum(['single', 'multipart']),
    upload: presigned.nullable().describe('single mode: the presigned PUT'),
    multipart: z
      .object({ partSize: z.number().int(), partCount: z.number().int() })
      .nullable()
      .describe('multipart mode: every part is partSize bytes except the last'),
    expiresAt: z.iso.datetime().describe('The upload must be completed before this'),
  })
  .meta({ id: 'Upload' });

export const partsBody = z
  .object({
    partNumbers: z.array(z.number().int().min(1).max(10_000)).min(1).max(1000).optional().describe('Default: every part (up to 1000)'),
  })
  .meta({ id: 'PartUrlsRequest' });

export const partsSchema = z
  .object({
    parts: z.array(presigned.extend({ partNumber: z.number().int(), size: z.number().int() })),
  })
  .meta({ id: 'PartUrls' });

export const completeBody = z
  .object({
    parts: z
      .array(z.object({ partNumber: z.number().int().min(1).max(10_000), etag: z.string().min(1).max(200) }))
      .max(10_000)
      .optional()
      .describe('multipart mode: every part with the ETag its PUT answered'),
  })
  .meta({ id: 'CompleteUpload' });
