import { z } from 'zod';
import { DisplayName, Email, Password } from '../../http/schemas.ts';

export const PatchMeBody = z
  .object({ email: Email.optional(), display_name: DisplayName.nullable().optional() })
  .strict()
  .refine((b) => b.email !== undefined || b.display_name !== undefined, 'Send email and/or display_name');

export const ChangePasswordBody = z.object({
  current_password: z.string().min(1).max(256),
  new_password: Password,
});

export const DeleteMeBody = z.object({ password: z.string().min(1).max(256) });
