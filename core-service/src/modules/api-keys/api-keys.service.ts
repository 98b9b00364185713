import { NotFoundError, ValidationError, type Pool } from '@linkport/common';
import type { Clock } from '../../lib/clock.ts';
import { randomSecret, sha256 } from '../../lib/secrets.ts';
import { recordAudit } from '../audit/audit.repository.ts';
import { API_KEY_PREFIX, type CredentialVerifier } from '../verify/verify.service.ts';
import * as repo from './api-keys.repository.ts';

export interface ApiKeyOut {
  id: string;
  name: string;
  prefix: string;
  scopes: ('links:read' | 'links:write' | 'media:read' | 'media:write')[];
  expires_at: string | null;
  last_used_at: string | null;
  created_at: string;
}

function out(r: repo.ApiKeyRow): ApiKeyOut {
  return {
    id: r.id,
    name: r.name,
    prefix: r.prefix,
    scopes: r.scopes as ApiKeyOut['scopes'],
    expires_at: r.expires_at?.toISOString() ?? null,
    last_used_at: r.last_used_at?.toISOString() ?? null,
    created_at: r.created_at.toISOString(),
  };
}

export class ApiKeysService {
  constructor(private readonly d: { pool: Pool; clock: Clock; verifier: CredentialVerifier }) {}

  /** `lp_` + 32 CSPRNG bytes in base64url: the prefix lets secret scanners recognise leaked keys. */
  async create(userId: string, input: { name: string; scopes: string[]; expiresAt?: string }, ip: string): Promise<ApiKeyOut & { key: string }> {
    const expiresAt = input.expiresAt ? new Date(input.expiresAt) : null;
    if (expiresAt && expiresAt.getTime() <= this.d.clock()) {
      throw new ValidationError('expires_at must be in the future', [{ path: 'expires_at', message: 'must be in the future' }]);
    }
    const key = `${API_KEY_PREFIX}${randomSecret(32)}`;
    const row = await repo.insertApiKey(this.d.pool, {
      userId,
      name: input.name,
      prefix: key.slice(0, API_KEY_PREFIX.length + 6),
      hash: sha256(key),
      scopes: input.scopes,
      expiresAt,
    });
    await recordAudit(this.d.pool, { action: 'api_key.created', userId, ip, details: { apiKeyId: row.id, scopes: row.scopes } });
    return { ...out(row), key };
  }

  async list(userId: string): Promise<ApiKeyOut[]> {
    return (await repo.listForUser(this.d.pool, userId)).map(out);
  }

  /** Another user's key answers 404 like a missing one, so ids cannot be probed. */
  async revoke(userId: string, id: string, ip: string): Promise<void> {
    const r = await repo.revoke(this.d.pool, userId, id, new Date(this.d.clock()));
    if (!r) throw new NotFoundError('No such API key', 'API_KEY_NOT_FOUND');
    this.d.verifier.forgetApiKey(r.hash, id);
    await recordAudit(this.d.pool, { action: 'api_key.revoked', userId, ip, details: { apiKeyId: id } });
  }
}
