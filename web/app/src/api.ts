/**
 * Talking to the public gateway routes, as any third-party frontend would (issue 17):
 * the access token lives in memory only; the refresh token is the httpOnly cookie core sets on
 * /v1/core/auth (core-service/src/http/cookies.ts), so a reload restores the session by one
 * POST /v1/core/auth/refresh and no script can read the long-lived credential.
 */
import { ApiError } from './errors.ts';

export interface User {
  id: string;
  email: string;
  display_name?: string | null;
}

interface TokenResponse {
  access_token: string;
  expires_in: number;
  user?: User;
}

type Listener = () => void;

class Session {
  token: string | undefined;
  user: User | undefined;
  expired = false;
  /** Said once on the log-in page after the session ended on purpose (account deleted). */
  notice: string | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private listeners = new Set<Listener>();
  private refreshing: Promise<boolean> | undefined;

  subscribe(l: Listener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
  private emit() {
    for (const l of this.listeners) l();
  }

  accept(t: TokenResponse) {
    this.token = t.access_token;
    if (t.user) this.user = t.user;
    this.expired = false;
    this.notice = undefined;
    clearTimeout(this.timer);
    // Refresh at 80 % of the lifetime (15 min tokens: after 12 min), before any call can fail.
    this.timer = setTimeout(() => void this.refresh(), Math.max(5, t.expires_in * 0.8) * 1000);
    this.emit();
  }

  clear(expired = false, notice?: string) {
    this.token = undefined;
    this.user = undefined;
    this.expired = expired;
    this.notice = notice;
    clearTimeout(this.timer);
    this.emit();
  }

  /** One refresh at a time; concurrent 401s share it. Resolves false when the cookie is no good. */
  refresh(): Promise<boolean> {
    this.refreshing ??= (async () => {
      try {
        const res = await fetch('/v1/core/auth/refresh', { method: 'POST', credentials: 'same-origin' });
        if (!res.ok) {
          if (this.token) this.clear(true);
          return false;
        }
        const t = (await res.json()) as TokenResponse;
        this.accept(t);
        if (!this.user) this.user = await me();
        this.emit();
        return true;
      } catch {
        return false;
      } finally {
        this.refreshing = undefined;
      }
    })();
    return this.refreshing;
  }
}

export const session = new Session();

function retryAfter(res: Response): number | undefined {
  const h = res.headers.get('retry-after');
  if (!h) return undefined;
  const n = Number(h);
  if (Number.isFinite(n)) return Math.max(0, Math.ceil(n));
  const at = Date.parse(h);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - Date.now()) / 1000));
}

async function errorFrom(res: Response): Promise<ApiError> {
  if (res.status === 429) return new ApiError('RATE_LIMITED', 'rate limited', 429, retryAfter(res) ?? 60);
  let code = res.status >= 500 ? 'INTERNAL' : 'HTTP_' + res.status;
  let message = res.statusText;
  try {
    const body = (await res.json()) as { error?: { code?: string; message?: string } };
    if (body.error?.code) code = body.error.code;
    if (body.error?.message) message = body.error.message;
  } catch {
    // a body that is not our JSON (a proxy's page): the status decides
  }
  if (res.status === 502 || res.status === 503 || res.status === 504) code = 'SERVICE_UNAVAILABLE';
  if (res.status === 413) code = 'PAYLOAD_TOO_LARGE';
  return new ApiError(code, message, res.status, retryAfter(res));
}

async function raw(path: string, init: RequestInit): Promise<Response> {
  if (typeof navigator !== 'undefined' && navigator.onLine === false) throw new ApiError('OFFLINE', 'offline');
  try {
    return await fetch(path, { credentials: 'same-origin', ...init });
  } catch {
    throw new ApiError(navigator.onLine === false ? 'OFFLINE' : 'NETWORK', 'network error');
  }
}

/** A JSON call with the access token; one refresh-and-retry on 401. */
export async function api<T>(path: string, init: { method?: string; body?: unknown; auth?: boolean } = {}): Promise<T> {
  const go = () => {
    const headers: Record<string, string> = {};
    if (init.body !== undefined) headers['content-type'] = 'application/json';
    if (init.auth !== false && session.token) headers.authorization = `Bearer ${session.token}`;
    return raw(path, { method: init.method ?? 'GET', headers, body: init.body === undefined ? undefined : JSON.stringify(init.body) });
  };
  let res = await go();
  if (res.status === 401 && init.auth !== false && session.token) {
    if (await session.refresh()) res = await go();
    else throw new ApiError('SESSION_EXPIRED', 'session expired', 401);
  }
  if (!res.ok) throw await errorFrom(res);
  if (res.status === 204) return undefined as T;
  return (await res.json()) as T;
}

export async function me(): Promise<User> {
  return api<User>('/v1/core/me');
}

export async function register(email: string, password: string, displayName: string): Promise<void> {
  session.accept(await api<TokenResponse>('/v1/core/auth/register', { method: 'POST', body: { email, password, display_name: displayName || null }, auth: false }));
}

export async function login(email: string, password: string): Promise<void> {
  session.accept(await api<TokenResponse>('/v1/core/auth/login', { method: 'POST', body: { email, password }, auth: false }));
}

export async function logout(): Promise<void> {
  try {
    await api<void>('/v1/core/auth/logout', { method: 'POST', auth: false });
  } finally {
    session.clear();
  }
}

export async function changePassword(current: string, next: string): Promise<void> {
  const t = await api<TokenResponse>('/v1/core/me/password', { method: 'POST', body: { current_password: current, new_password: next } });
  session.accept(t);
}

/** Core asks for the password again (DeleteMeBody), so a session left open cannot delete the account. */
export async function deleteAccount(password: string): Promise<void> {
  await api<void>('/v1/core/me', { method: 'DELETE', body: { password } });
  // No navigation here or in the page: the shell sends a signed-out person to the log-in page, where
  // the notice is shown (navigating as well raced the shell's own redirect).
  session.clear(false, 'Your account and everything in it have been deleted.');
}

export type Scope = 'links:read' | 'links:write' | 'media:read' | 'media:write';
export interface ApiKey {
  id: string;
  name: string;
  prefix: string;
  scopes: Scope[];
  expires_at: string | null;
  created_at?: string;
  last_used_at?: string | null;
  revoked_at?: string | null;
}

export const apiKeys = {
  list: () => api<{ items: ApiKey[] }>('/v1/core/api-keys').then((r) => r.items),
  create: (name: string, scopes: Scope[]) => api<ApiKey & { key: string }>('/v1/core/api-keys', { method: 'POST', body: { name, scopes } }),
  revoke: (id: string) => api<void>(`/v1/core/api-keys/${encodeURIComponent(id)}`, { method: 'DELETE' }),
};

interface UploadTicket {
  id: string;
  upload: { method: string; url: string; headers: Record<string, string> };
}

/**
 * Presigned upload straight from the browser to storage: media signs a PUT, XMLHttpRequest sends
 * the bytes (fetch has no upload progress events), media checks and completes it.
 */
export async function uploadImage(file: File, onProgress: (fraction: number) => void): Promise<{ id: string; url?: string }> {
  const ticket = await api<UploadTicket>('/v1/media/uploads', {
    method: 'POST',
    body: { filename: file.name || 'image', contentType: file.type || 'application/octet-stream', size: file.size, visibility: 'public' },
  });
  await new Promise<void>((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(ticket.upload.method || 'PUT', ticket.upload.url);
    for (const [k, v] of Object.entries(ticket.upload.headers)) {
      // The browser sets these itself and refuses them from scripts.
      if (!/^(content-length|host)$/i.test(k)) xhr.setRequestHeader(k, v);
    }
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) onProgress(e.loaded / e.total);
    };
    xhr.onload = () => (xhr.status >= 200 && xhr.status < 300 ? resolve() : reject(new ApiError('UPLOAD_INCOMPLETE', `storage answered ${xhr.status}`, xhr.status)));
    xhr.onerror = () => reject(new ApiError(navigator.onLine ? 'UPLOAD_INCOMPLETE' : 'OFFLINE', 'upload failed'));
    xhr.send(file);
  });
  onProgress(1);
  await api<{ id: string }>(`/v1/media/uploads/${encodeURIComponent(ticket.id)}/complete`, { method: 'POST', body: {} });
  return { id: ticket.id, url: await assetUrl(ticket.id) };
}

/** A displayable URL of an image asset (public: its storage URL; private: a short-lived signed one). */
export async function assetUrl(id: string): Promise<string | undefined> {
  const a = await api<{ url?: string }>(`/v1/media/assets/${encodeURIComponent(id)}`);
  return a.url;
}
