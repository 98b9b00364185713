import type { Pool, PoolClient } from '@linkport/common';

/** Security-relevant events, kept after the user is gone (no FK; docs/architecture.md "Identity and auth"). */
export type AuditAction =
  | 'user.registered'
  | 'login.succeeded'
  | 'login.failed'
  | 'login.throttled'
  | 'password.changed'
  | 'api_key.created'
  | 'api_key.revoked'
  | 'refresh.reuse_detected'
  | 'user.deleted';

export interface AuditEvent {
  action: AuditAction;
  userId?: string | null;
  ip?: string | null;
  details?: Record<string, unknown>;
}

export async function recordAudit(db: Pool | PoolClient, e: AuditEvent): Promise<void> {
  await db.query('INSERT INTO core.audit_events (user_id, action, ip, details) VALUES ($1, $2, $3, $4)', [
    e.userId ?? null,
    e.action,
    e.ip ?? null,
    JSON.stringify(e.details ?? {}),
  ]);
}
