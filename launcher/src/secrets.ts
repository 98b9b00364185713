import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export interface DevSecrets {
  hasuraAdminSecret: string;
  redirectSecret: string;
  /** Shared by the engine's event triggers (header X-Linkport-Events-Secret) and the events receiver. */
  eventsHasuraSecret: string;
  /** Shared by media's internal preview-image route and the events process (link previews). */
  mediaInternalSecret: string;
}

/**
 * Development secrets, generated on the first start and kept in `<data>/secrets.json` (mode 600):
 * the same across restarts, so signed cookies and the console login survive them, and never the
 * same on two machines. Env values win (HASURA_GRAPHQL_ADMIN_SECRET, REDIRECT_SECRET, EVENTS_HASURA_SECRET,
 * MEDIA_INTERNAL_SECRET).
 */
export function loadSecrets(dataDir: string, env: Record<string, string | undefined>): DevSecrets {
  const file = path.join(dataDir, 'secrets.json');
  let stored: Partial<DevSecrets> = {};
  if (fs.existsSync(file)) stored = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<DevSecrets>;
  const fresh = () => randomBytes(32).toString('base64url');
  const secrets: DevSecrets = {
    hasuraAdminSecret: stored.hasuraAdminSecret ?? fresh(),
    redirectSecret: stored.redirectSecret ?? fresh(),
    eventsHasuraSecret: stored.eventsHasuraSecret ?? fresh(),
    mediaInternalSecret: stored.mediaInternalSecret ?? fresh(),
  };
  if (stored.hasuraAdminSecret !== secrets.hasuraAdminSecret || stored.redirectSecret !== secrets.redirectSecret || stored.eventsHasuraSecret !== secrets.eventsHasuraSecret || stored.mediaInternalSecret !== secrets.mediaInternalSecret) {
    fs.writeFileSync(file, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600 });
  }
  return {
    hasuraAdminSecret: env.HASURA_GRAPHQL_ADMIN_SECRET ?? secrets.hasuraAdminSecret,
    redirectSecret: env.REDIRECT_SECRET ?? secrets.redirectSecret,
    eventsHasuraSecret: env.EVENTS_HASURA_SECRET ?? secrets.eventsHasuraSecret,
    mediaInternalSecret: env.MEDIA_INTERNAL_SECRET ?? secrets.mediaInternalSecret,
  };
}
