import { isConnectionError, poolHealth, type Pool } from '@linkport/common';
import { linkFromRow, type Link, type LinkRow } from './link.ts';
import type { ReadRouting } from './read-replica.ts';

const COLUMNS = `id, code, destination, redirect_type, forward_query, utm_source, utm_medium, utm_campaign,
  utm_term, utm_content, status, expires_at, expired_url, max_clicks, click_count, password, ios_url,
  android_url, geo_targets, ab_variants, title, created_at`;

/** Reads of links.links for the redirect_service role (SELECT only, docs/architecture.md "Data"). */
export class LinksRepository {
  /** `routing`: lookups from a read replica, recently changed codes from the primary (read-replica.ts). */
  constructor(
    private readonly pool: Pool,
    private readonly routing?: ReadRouting,
  ) {}

  async findByCode(code: string): Promise<Link | null> {
    const pool = this.routing ? await this.routing.poolFor(code) : this.pool;
    const query = (p: Pool) =>
      p.query<LinkRow>({
        name: 'redirect_link_by_code',
        text: `SELECT ${COLUMNS} FROM links.links WHERE code = $1`,
        values: [code],
      });
    let result;
    try {
      result = await query(pool);
    } catch (err) {
      // the replica unreachable: the primary answers (degrade, not fail)
      if (pool === this.pool || !isConnectionError(err)) return this.noteFailure(err);
      result = await query(this.pool).catch(this.noteFailure);
    }
    const row = result.rows[0];
    return row ? linkFromRow(row) : null;
  }

  /**
   * The preview page's extras (issue 15 §4), read per preview view — off the redirect's hot path, so
   * not in the cached Link. The image key comes from links.preview_image_key (migration
   * 1764900001400): only a ready public asset of the link's owner, since this role cannot read media.
   */
  async previewDetails(id: string): Promise<{ description: string | null; imageKey: string | null }> {
    const { rows } = await this.pool
      .query<{ description: string | null; image_key: string | null }>(
        `SELECT description, CASE WHEN image_asset_id IS NULL THEN NULL ELSE links.preview_image_key(id) END AS image_key FROM links.links WHERE id = $1`,
        [id],
      )
      .catch(this.noteFailure);
    return { description: rows[0]?.description ?? null, imageKey: rows[0]?.image_key ?? null };
  }

  /** A refused or broken connection marks PostgreSQL down (readiness, metrics, one log line). */
  private readonly noteFailure = (err: unknown): never => {
    // the replica's health is tracked on its own pool (observePool in app.ts)
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
