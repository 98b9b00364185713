import { useEffect, useState } from 'preact/hooks';
import { gql } from '../gql.ts';
import { AccountAnalytics, DeleteLinks, ListLinks, SetStatus, type Status } from '../ops.ts';
import type { Links_Links_Order_By } from '../generated/graphql.ts';
import { navigate } from '../router.ts';
import { A, CopyButton, Empty, ErrorMessage, Loading, useAsync } from '../ui.tsx';

const PAGE = 20;
const SORTS: Record<string, [string, Links_Links_Order_By[]]> = {
  newest: ['Newest first', [{ created_at: 'desc' }, { id: 'asc' }]],
  oldest: ['Oldest first', [{ created_at: 'asc' }, { id: 'asc' }]],
  clicks: ['Most clicks', [{ click_count: 'desc' }, { created_at: 'desc' }]],
  code: ['Code A–Z', [{ code: 'asc' }]],
};

export const shortUrl = (code: string) => `${location.origin}/${code}`;

export function LinksPage({ query }: { query: URLSearchParams }) {
  const q = query.get('q') ?? '';
  const status = query.get('status') ?? 'active';
  const tag = query.get('tag') ?? '';
  const domain = query.get('domain') ?? '';
  const sort = query.get('sort') ?? 'newest';
  const page = Math.max(1, Number(query.get('page') ?? '1') || 1);
  const set = (patch: Record<string, string>) => {
    const next = new URLSearchParams(query);
    for (const [k, v] of Object.entries(patch)) if (v) next.set(k, v); else next.delete(k);
    if (!('page' in patch)) next.delete('page');
    navigate(`/?${next.toString()}`, true);
  };
  const where: Record<string, unknown>[] = [];
  if (status !== 'all') where.push({ status: { _eq: status } });
  if (q) {
    const like = `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    where.push({ _or: [{ code: { _ilike: like } }, { title: { _ilike: like } }, { destination: { _ilike: like } }] });
  }
  if (tag) where.push({ link_tags: { tag_id: { _eq: tag } } });
  if (domain === 'none') where.push({ domain_id: { _is_null: true } });
  else if (domain) where.push({ domain_id: { _eq: domain } });
  const list = useAsync(
    () => gql(ListLinks, { where: { _and: where }, order_by: SORTS[sort]?.[1] ?? SORTS.newest![1], limit: PAGE, offset: (page - 1) * PAGE }),
    [q, status, tag, domain, sort, page],
  );
  // The filters' choices come with the rows (ListLinks); kept across reloads of the list.
  const [labels, setLabels] = useState<{ links_tags: Array<{ id: string; name: string }>; links_domains: Array<{ id: string; hostname: string }> }>();
  useEffect(() => {
    if (list.data) setLabels({ links_tags: list.data.links_tags, links_domains: list.data.links_domains });
  }, [list.data]);
  const tags = { data: labels };
  const domains = { data: labels };
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [bulkError, setBulkError] = useState<unknown>();
  const rows = list.data?.links_links ?? [];
  const total = list.data?.links_links_aggregate.aggregate?.count ?? 0;
  const pages = Math.max(1, Math.ceil(total / PAGE));
  const bulk = async (action: Status | 'delete') => {
    const ids = [...selected];
    if (action === 'delete' && !confirm(`Delete ${ids.length} link(s) and their analytics? This cannot be undone.`)) return;
    setBulkError(undefined);
    try {
      if (action === 'delete') await gql(DeleteLinks, { ids });
      else await gql(SetStatus, { ids, status: action });
      setSelected(new Set());
      list.reload();
    } catch (err) {
      setBulkError(err);
    }
  };
  return (
    <main id="main">
      <div class="title-row">
        <h1>Links</h1>
        <A href="/links/new" class="button primary">
          New link
        </A>
      </div>
      <Overview />
      <form
        class="filters"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          set({ q: String(new FormData(e.currentTarget as HTMLFormElement).get('q') ?? '') });
        }}
      >
        <label for="q">Search</label>
        <input id="q" name="q" type="search" defaultValue={q} placeholder="code, title or destination" />
        <button type="submit">Search</button>
        <label for="status">Status</label>
        <select id="status" value={status} onChange={(e) => set({ status: (e.currentTarget as HTMLSelectElement).value })}>
          <option value="active">Active</option>
          <option value="disabled">Disabled</option>
          <option value="archived">Archived</option>
          <option value="all">All</option>
        </select>
        <label for="tag">Tag</label>
        <select id="tag" value={tag} onChange={(e) => set({ tag: (e.currentTarget as HTMLSelectElement).value })}>
          <option value="">Any tag</option>
          {(tags.data?.links_tags ?? []).map((t) => (
            <option value={t.id} key={t.id}>
              {t.name}
            </option>
          ))}
        </select>
        {!!domains.data?.links_domains.length && (
          <>
            <label for="domain">Domain</label>
            <select id="domain" value={domain} onChange={(e) => set({ domain: (e.currentTarget as HTMLSelectElement).value })}>
              <option value="">Any domain</option>
              <option value="none">None (main host)</option>
              {domains.data.links_domains.map((d) => (
                <option value={d.id} key={d.id}>
                  {d.hostname}
                </option>
              ))}
            </select>
          </>
        )}
        <label for="sort">Sort</label>
        <select id="sort" value={sort} onChange={(e) => set({ sort: (e.currentTarget as HTMLSelectElement).value })}>
          {Object.entries(SORTS).map(([k, [label]]) => (
            <option value={k} key={k}>
              {label}
            </option>
          ))}
        </select>
      </form>
      {selected.size > 0 && (
        <div class="bulk" role="region" aria-label="Selected links">
          <span>{selected.size} selected</span>
          <button type="button" onClick={() => bulk('archived')}>
            Archive
          </button>
          <button type="button" onClick={() => bulk('active')}>
            Restore
          </button>
          <button type="button" class="danger" onClick={() => bulk('delete')}>
            Delete
          </button>
        </div>
      )}
      {bulkError !== undefined && <ErrorMessage error={bulkError} />}
      {list.loading && !list.data ? (
        <Loading label="Loading your links…" />
      ) : list.error !== undefined ? (
        <ErrorMessage error={list.error} retry={list.reload} />
      ) : rows.length === 0 ? (
        <Empty>
          {q || tag || domain || status !== 'active' ? (
            <p>No link matches these filters.</p>
          ) : (
            <>
              <p>You have no links yet.</p>
              <A href="/links/new" class="button primary">
                Create your first link
              </A>
            </>
          )}
        </Empty>
      ) : (
        <>
          <table class="links" aria-busy={list.loading}>
            <caption class="sr-only">Your links, {total} in all</caption>
            <thead>
              <tr>
                <th scope="col">
                  <input
                    type="checkbox"
                    aria-label="Select all links on this page"
                    checked={rows.every((r) => selected.has(r.id))}
                    onChange={(e) => setSelected((e.currentTarget as HTMLInputElement).checked ? new Set(rows.map((r) => r.id)) : new Set())}
                  />
                </th>
                <th scope="col">Short link</th>
                <th scope="col">Destination</th>
                <th scope="col">Clicks</th>
                <th scope="col">Created</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr key={r.id}>
                  <td>
                    <input
                      type="checkbox"
                      aria-label={`Select ${r.code}`}
                      checked={selected.has(r.id)}
                      onChange={(e) => {
                        const next = new Set(selected);
                        if ((e.currentTarget as HTMLInputElement).checked) next.add(r.id);
                        else next.delete(r.id);
                        setSelected(next);
                      }}
                    />
                  </td>
                  <td>
                    <A href={`/links/${r.id}`}>{r.title || r.code}</A>
                    <div class="muted">
                      /{r.code} {r.status !== 'active' && <span class="badge">{r.status}</span>} <CopyButton text={shortUrl(r.code)} label={`Copy`} />
                    </div>
                  </td>
                  <td class="dest">{r.destination}</td>
                  <td class="num">{r.click_count}</td>
                  <td>{new Date(r.created_at).toLocaleDateString()}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <nav class="pager" aria-label="Pages">
            <button type="button" disabled={page <= 1} onClick={() => set({ page: String(page - 1) })}>
              Previous
            </button>
            <span>
              Page {page} of {pages} ({total} links)
            </span>
            <button type="button" disabled={page >= pages} onClick={() => set({ page: String(page + 1) })}>
              Next
            </button>
          </nav>
        </>
      )}
    </main>
  );
}

/** Every link together, last 30 days: clicks, unique visitors, top countries and referrers. */
function Overview() {
  const tz = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  const data = useAsync(() => {
    const to = new Date(Date.now() + 60_000);
    return gql(AccountAnalytics, { tz, from: new Date(to.getTime() - 30 * 86_400_000).toISOString(), to: to.toISOString() });
  }, []);
  if (data.loading && !data.data) return <Loading label="Loading the overview…" />;
  if (data.error !== undefined) return <ErrorMessage error={data.error} retry={data.reload} />;
  const d = data.data!;
  const clicks = d.series.reduce((s, r) => s + Number(r.clicks), 0);
  const visitors = d.series.reduce((s, r) => s + Number(r.visitors), 0);
  const top = (rows: typeof d.countries, none: string) => rows.map((r) => `${r.value || none} (${r.clicks})`).join(', ') || '—';
  return (
    <section class="card overview" aria-labelledby="overview-h">
      <h2 id="overview-h">Last 30 days, all links</h2>
      <p data-testid="overview">
        <strong>{clicks.toLocaleString()}</strong> {clicks === 1 ? 'click' : 'clicks'} from <strong>{visitors.toLocaleString()}</strong> unique{' '}
        {visitors === 1 ? 'visitor' : 'visitors'} (bots excluded)
      </p>
      {clicks > 0 && (
        <p class="muted">
          Top countries: {top(d.countries, 'Unknown')}. Top referrers: {top(d.referrers, 'Direct or none')}.
        </p>
      )}
      <p>
        <A href="/analytics">Every chart for all your links</A>
      </p>
    </section>
  );
}
