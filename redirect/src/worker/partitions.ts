import type { Logger, Pool } from '@linkport/common';

/**
 * Keeps monthly partitions of links.clicks ahead of time (this month and the next two) and, when a
 * retention is configured, drops whole months past it — DROP TABLE of a partition instead of a
 * DELETE over millions of rows (shlink#2080, YOURLS#3750 in docs/research/peers.md §3.5). Both functions are
 * SECURITY DEFINER in the links migration.
 */
export async function maintainPartitions(pool: Pool, retentionMonths: number, log: Logger): Promise<void> {
  const { rows } = await pool.query<{ created: number }>(`SELECT links.ensure_click_partitions(now(), 3) AS created`);
  if (rows[0]?.created) log.info({ created: rows[0].created }, 'click partitions created');
  if (retentionMonths > 0) {
    const r = await pool.query<{ dropped: number }>(
      `SELECT links.drop_click_partitions_before(date_trunc('month', now()) - make_interval(months => $1)) AS dropped`,
      [retentionMonths],
    );
    if (r.rows[0]?.dropped) log.info({ dropped: r.rows[0].dropped }, 'click partitions dropped (retention)');
  }
}
