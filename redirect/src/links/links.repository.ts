import { isConnectionError, poolHealth, type Pool } from '@linkport/common';
import { linkFromRow, type Link, type LinkRow } from './link.ts';

const COLUMNS = `id, code, destination, redirect_type, forward_query, utm_source, utm_medium, utm_campaign,
  utm_term, utm_content, status, expires_at, expired_url, max_clicks, click_count, password, ios_url,
  android_url, geo_targets, ab_variants, title, created_at`;

/** Reads of links.links for the redirect_service role (SELECT only, docs/architecture.md "Data"). */
export class LinksRepository {
  constructor(private readonly pool: Pool) {}

  async findByCode(code: string): Promise<Link | null> {
    const { rows } = await this.pool
      .query<LinkRow>({
        name: 'redirect_link_by_code',
        text: `SELECT ${COLUMNS} FROM links.links WHERE code = $1`,
        values: [code],
      })
      .catch(this.noteFailure);
    return rows[0] ? linkFromRow(rows[0]) : null;
  }

  /** A refused or broken connection marks PostgreSQL down (readiness, metrics, one log line). */
  private readonly noteFailure = (err: unknown): never => {
    if (isConnectionError(err)) poolHealth(this.pool).fail(err);
    throw err;
  };

  /**
   * bcrypt check in PostgreSQL with pgcrypto's crypt() — the same function the links trigger hashed
   * with — so no bcrypt implementation (or its licence) enters this package. Returns the current
   * password tag on success so the cookie binds to the password actually checked.
   */
  async checkPassword(code: string, password: string): Promise<string | null> {
    const { rows } = await this.pool
      .query<{ password: string }>(`SELECT password FROM links.links WHERE code = $1 AND password IS NOT NULL AND password = public.crypt($2, password)`, [
        code,
        password,
      ])
      .catch(this.noteFailure);
    return rows[0]?.password ?? null;
  }
}
