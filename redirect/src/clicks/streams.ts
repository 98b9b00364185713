/**
 * Which Redis streams carry clicks (issue 18 §2: N streams by hash tag).
 *
 * - CLICK_STREAM_SHARDS=1 (default): the one key CLICK_STREAM (`clicks`), as before sharding — a
 *   single Redis, and every existing deployment, keeps its key and its consumer group.
 * - N > 1: `{clicks:0}` … `{clicks:N-1}`. The braces are a Redis Cluster hash tag (Redis Cluster
 *   spec, "Hash tags"): each shard is one slot, so the producer's XADD script (one key) and the
 *   consumer's XREADGROUP/XAUTOCLAIM/XACK (one key each) never cross slots, and the N slots spread
 *   over the masters. The dead-letter stream is a single key written by plain XADD.
 *
 * Migration path from 1 to N: workers read the old key `clicks` too whenever N > 1 (consumedStreams),
 * so entries written before the switch drain through the same consumer group; an empty stream
 * costs one idle blocking read. Lowering N: start the producers with the new N and keep the
 * workers at the old N until the dropped shards are empty (XINFO GROUPS lag/pending 0) — a worker
 * reading more shards than are written is harmless.
 */
export function clickStreams(base: string, shards: number): string[] {
  if (shards <= 1) return [base];
  return Array.from({ length: shards }, (_, i) => `{${base}:${i}}`);
}

/** What a worker consumes: the written shards, plus the unsharded key while it may still hold entries. */
export function consumedStreams(base: string, shards: number): string[] {
  return shards <= 1 ? [base] : [base, ...clickStreams(base, shards)];
}

/**
 * The row key a stream entry gets in the sinks (links.clicks.stream_id, ClickHouse's click_key when
 * the click has no producer id). Entry ids are only unique within one stream — two shards hand out
 * the same `<ms>-<seq>` in the same millisecond — so a shard's ids carry its key as a prefix. The
 * unsharded key keeps bare ids: rows written before sharding keep matching their replays.
 */
export function entryKey(stream: string, base: string, id: string): string {
  return stream === base ? id : `${stream}/${id}`;
}

/** The inverse of entryKey for one stream: the id XACK wants. */
export function entryId(stream: string, base: string, key: string): string {
  return stream === base ? key : key.slice(stream.length + 1);
}
