import { AnalyticsPanel, LiveCounter } from '../analytics.tsx';
import { gql } from '../gql.ts';
import { AllAnalytics, LiveTotal } from '../ops.ts';
import { A } from '../ui.tsx';

/**
 * Every link of the account at once (/app/analytics): the per-link page's panel without a link_id,
 * plus the most clicked links. Lazy-loaded like the other pages most visits never open.
 */
export function AnalyticsPage() {
  return (
    <main id="main">
      <AnalyticsPanel
        lead={<LiveCounter op={LiveTotal} variables={{}} count={(d) => d.links_links_aggregate.aggregate?.sum?.click_count} suffix=" on all your links, all time" />}
        load={(v) => gql(AllAnalytics, v)}
        deps={[]}
        heading="h1"
        title="Analytics for all your links"
        empty={
          <p>
            No clicks in this range yet. <A href="/links/new">Create a link</A> and share it; clicks appear here within seconds (bots are not counted).
          </p>
        }
      >
        {(d) => (
          <section class="card breakdown" aria-label="Top links">
            <h3>Top links</h3>
            <p class="muted">By clicks since each link was made (all time, bots excluded).</p>
            {d.top_links.length === 0 ? (
              <p class="muted">No data.</p>
            ) : (
              <ul>
                {d.top_links.map((l) => (
                  <li key={l.id}>
                    <span class="label">
                      <A href={`/links/${l.id}`}>{l.title || `/${l.code}`}</A>
                    </span>
                    <span
                      class="bar"
                      style={{ width: `${(Number(l.click_count) / Math.max(1, Number(d.top_links[0]?.click_count ?? 1))) * 100}%` }}
                      aria-hidden="true"
                    />
                    <span class="num">{l.click_count}</span>
                  </li>
                ))}
              </ul>
            )}
          </section>
        )}
      </AnalyticsPanel>
    </main>
  );
}
