import { z } from 'zod';
import { hasForbiddenChars } from '../../lib/text.ts';
import { Timestamp } from '../../http/schemas.ts';
import { SCOPES } from '../tokens/tokens.service.ts';

export const Scope = z.enum(SCOPES);

export const CreateApiKeyBody = z.object({
  name: z
    .string()
    .transform((s) => s.normalize('NFC').trim())
    .pipe(
      z
        .string()
        .min(1)
        .max(100)
        .refine((s) => !hasForbiddenChars(s), 'Contains control, bidi-override or invisible characters'),
    ),
  scopes: z
    .array(Scope)
    .min(1)
    .max(SCOPES.length)
    .refine((s) => new Set(s).size === s.length, 'Scopes must be unique'),
  expires_at: Timestamp.optional().describe('When the key stops working; omit for no expiry'),
});

export const ApiKey = z
  .object({
    id: z.uuid(),
    name: z.string(),
    prefix: z.string().describe('The first characters of the key, to recognise it'),
    scopes: z.array(Scope),
    expires_at: Timestamp.nullable(),
    last_used_at: Timestamp.nullable().describe('Recorded at most once a minute'),
    created_at: Timestamp,
  })
  .meta({ id: 'ApiKey' });

export const CreatedApiKey = ApiKey.extend({
  key: z.string().describe('The secret (lp_…). Shown only in this response; store it now.'),
}).meta({ id: 'CreatedApiKey' });

export const ApiKeyList = z.object({ items: z.array(ApiKey) });

export const ApiKeyParams = z.object({ id: z.uuid() });
