import { z } from 'zod';

export const VerifyQuery = z.object({
  mode: z.enum(['required', 'optional']).default('required').describe('optional: no credential → 200 anonymous'),
});

export const VerifyResponse = z
  .object({
    user_id: z.string().nullable(),
    role: z.string(),
    auth_method: z.enum(['jwt', 'api_key', 'anonymous']),
    scopes: z.array(z.string()),
  })
  .meta({ id: 'VerifyResponse' });
