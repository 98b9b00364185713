/**
 * Revocation of open WebSockets (issue 11): Hasura verifies a connection's JWT once, on
 * `connection_init`, and keeps the connection until the token's `exp` (WebSocket.hs
 * `tokenExpiryHandler`); a logout, a password change or an API key revoked in core would leave a
 * subscription streaming for the rest of the token's life. Linkport closes such a connection
 * within 5 s:
 *
 *   - core announces each revocation on the PostgreSQL channel `linkport_revocations`, in the
 *     statement that revokes (core-service auth.repository.ts / api-keys.repository.ts), so it is
 *     heard exactly when it commits — never before, never for a rolled-back one;
 *   - this listener (one dedicated connection, LISTEN) hands each event to the WebSocket server,
 *     which closes the matching connections with 4401 (ws.ts).
 *
 * Why PostgreSQL NOTIFY rather than a Redis channel: the engine already depends on PostgreSQL and
 * nothing else; PostgreSQL is where core records revocations (the authority every verifier reads);
 * and the notification is transactional. The one gap — events sent while this connection is down
 * and reconnecting — is covered by `onResync`: after every (re)connection the WebSocket server
 * re-verifies every open credential with core's verify endpoint when one is configured
 * (ENGINE_REVOCATION_VERIFY_URL), and keeps re-verifying every few seconds while the listener is
 * down. A PostgreSQL outage long enough to drop the listener also stops core from revoking
 * anything (it writes revocations there), so nothing is missed that the resync does not catch.
 */
import pg from 'pg';

export const REVOCATION_CHANNEL = 'linkport_revocations';

export type RevocationEvent =
  | { kind: 'session'; sid: string }
  | { kind: 'user_sessions'; user_id: string }
  | { kind: 'api_key'; id: string; user_id?: string };

export function parseRevocation(payload: string | undefined): RevocationEvent | undefined {
  try {
    const v = JSON.parse(payload ?? '') as Record<string, unknown>;
    if (v.kind === 'session' && typeof v.sid === 'string') return { kind: 'session', sid: v.sid };
    if (v.kind === 'user_sessions' && typeof v.user_id === 'string') return { kind: 'user_sessions', user_id: v.user_id };
    if (v.kind === 'api_key' && typeof v.id === 'string') return { kind: 'api_key', id: v.id, ...(typeof v.user_id === 'string' ? { user_id: v.user_id } : {}) };
  } catch {
    // not ours: ignored
  }
  return undefined;
}

export interface RevocationListenerOptions {
  databaseUrl: string;
  onRevoked(e: RevocationEvent): void;
  /** After each (re)connection, and while disconnected: events may have been missed. */
  onResync?(connected: boolean): void;
  onError?(err: unknown): void;
  /** Reconnect backoff bounds; defaults 250 ms … 5 s. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

export class RevocationListener {
  private client: pg.Client | undefined;
  private closed = false;
  private backoff: number;
  private timer: NodeJS.Timeout | undefined;
  private everConnected = false;
  /** Listening right now. */
  connected = false;

  constructor(private readonly o: RevocationListenerOptions) {
    this.backoff = o.minBackoffMs ?? 250;
  }

  start(): void {
    void this.connect();
  }

  private async connect(): Promise<void> {
    if (this.closed) return;
    const client = new pg.Client({ connectionString: this.o.databaseUrl, application_name: 'hasura-engine-revocations' });
    this.client = client;
    let failed = false;
    const fail = (err?: unknown) => {
      if (failed) return;
      failed = true;
      this.connected = false;
      if (err) this.o.onError?.(err);
      client.removeAllListeners('notification');
      client.end().catch(() => undefined);
      if (this.closed) return;
      this.o.onResync?.(false);
      this.timer = setTimeout(() => void this.connect(), this.backoff);
      this.backoff = Math.min(this.backoff * 2, this.o.maxBackoffMs ?? 5000);
    };
    client.on('error', fail);
    client.on('end', () => fail());
    client.on('notification', (n) => {
      if (n.channel !== REVOCATION_CHANNEL) return;
      const e = parseRevocation(n.payload);
      if (e) this.o.onRevoked(e);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${REVOCATION_CHANNEL}`);
    } catch (err) {
      fail(err);
      return;
    }
    if (this.closed) {
      await client.end().catch(() => undefined);
      return;
    }
    this.connected = true;
    this.backoff = this.o.minBackoffMs ?? 250;
    // The first connection has nothing to catch up on; a reconnection may have missed events.
    if (this.everConnected) this.o.onResync?.(true);
    this.everConnected = true;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    const c = this.client;
    this.client = undefined;
    this.connected = false;
    if (c) {
      c.removeAllListeners();
      c.on('error', () => undefined);
      await c.end().catch(() => undefined);
    }
  }
}

/** What a WebSocket's credential is, read from its verified JWT's claims. */
export interface Credential {
  userId: string | undefined;
  sid: string | undefined;
  apiKeyId: string | undefined;
}

/**
 * The claims of the bearer token in `headers` (already verified by the authenticator: only read
 * here). Undefined when the connection has no JWT (admin secret, anonymous).
 */
export function credentialOf(headers: Record<string, string>): Credential | undefined {
  const m = /^Bearer\s+([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]*)$/i.exec(headers.authorization ?? '');
  if (!m) return undefined;
  try {
    const p = JSON.parse(Buffer.from(m[2]!, 'base64url').toString('utf8')) as Record<string, unknown>;
    const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
    return { userId: str(p.sub), sid: str(p.sid), apiKeyId: str(p.api_key_id) };
  } catch {
    return undefined;
  }
}

/** Does `e` revoke `c`? */
export function revokes(e: RevocationEvent, c: Credential): boolean {
  switch (e.kind) {
    case 'session': return c.sid === e.sid;
    // logout-all and password change end every session, not API keys (core auth.service.ts).
    case 'user_sessions': return c.sid !== undefined && c.userId === e.user_id;
    case 'api_key': return c.apiKeyId === e.id;
  }
}
