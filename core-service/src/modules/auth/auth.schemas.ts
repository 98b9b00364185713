import { z } from 'zod';
import { DisplayName, Email, Password, TokenResponse, User } from '../../http/schemas.ts';

export const RegisterBody = z.object({
  email: Email,
  password: Password,
  display_name: DisplayName.nullable().optional(),
});

export const LoginBody = z.object({
  email: Email,
  // No policy on login: an old account may predate it. The cap bounds hashing work.
  password: z.string().min(1).max(256),
});

const RefreshToken = z.string().min(1).max(200);

// No body at all (cookie only) arrives as null.
export const RefreshBody = z.object({ refresh_token: RefreshToken.optional() }).nullish();

export const LogoutBody = z
  .object({
    refresh_token: RefreshToken.optional(),
    all: z.boolean().default(false).describe('Revoke every session of the user, not only this one'),
  })
  .nullish();

export const SessionResponse = TokenResponse.extend({ user: User }).meta({ id: 'SessionResponse' });
