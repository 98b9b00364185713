import { z } from 'zod';

export const errorSchema = z
  .object({
    error: z.object({
      code: z.string(),
      message: z.string(),
      details: z.unknown().optional(),
      requestId: z.string().optional(),
    }),
  })
  .meta({ id: 'Error' });

export const assetStatus = z
  .enum(['pending', 'ready', 'failed', 'quarantined'])
  .describe('quarantined: the stored file changed after it was verified; it is no longer served');

export const assetSchema = z
  .object({
    id: z.uuid(),
    filename: z.string().describe('Sanitised filename (NFC, no path, no control characters)'),
    contentType: z.string(),
    size: z.number().int(),
    visibility: z.enum(['public', 'private']),
    status: assetStatus,
    checksum: z.string().nullable(),
    createdAt: z.iso.datetime(),
    completedAt: z.iso.datetime().nullable(),
  })
  .meta({ id: 'Asset' });

export const assetWithUrlSchema = assetSchema
  .extend({
    url: z.string().nullable().describe('Public URL, or a presigned GET for a private asset; null until ready'),
    urlExpiresAt: z.iso.datetime().nullable().describe('When a presigned url stops working; null for public URLs'),
  })
  .meta({ id: 'AssetWithUrl' });

export const assetIdParams = z.object({ id: z.uuid() });

export const listQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().max(200).optional().describe('`nextCursor` of the previous page'),
  status: assetStatus.optional(),
  type: z
    .string()
    .regex(/^[a-z0-9!#$&^_.+-]+(\/[a-z0-9!#$&^_.+-]+)?$/i)
    .max(255)
    .optional()
    .describe('`image` (any image/*) or an exact type such as `image/png`'),
});

export const assetListSchema = z
  .object({ items: z.array(assetSchema), nextCursor: z.string().nullable() })
  .meta({ id: 'AssetList' });
