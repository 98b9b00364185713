/**
 * Webhooks (events/README.md; tables webhooks.* with owner permissions in hasura/metadata): the
 * endpoints, their delivery log and replay, through the public GraphQL API only.
 *
 * The signing secret is generated here, in the browser (Standard Webhooks: `whsec_` + base64 of
 * random bytes), sent once, and never readable again (no select permission on `secret`): it is
 * shown once with a copy button. Rotation writes a new one; the database keeps the replaced secret
 * signing for 24 h next to it (webhooks.endpoints_before_update), so receivers switch without a gap.
 */
import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { gql } from '../gql.ts';
import {
  CreateWebhook,
  DeleteWebhook,
  EVENT_TYPES,
  ListWebhooks,
  MarkNotificationsRead,
  ReplayDelivery,
  UpdateWebhook,
  WebhookDeliveries,
} from '../ops.ts';
import { navigate } from '../router.ts';
import { A, CopyButton, Empty, ErrorMessage, Field, Loading, useAsync } from '../ui.tsx';

type Endpoint = NonNullable<Awaited<ReturnType<typeof loadDeliveries>>['webhooks_endpoints_by_pk']>;

const DESCRIBE: Record<(typeof EVENT_TYPES)[number], string> = {
  'link.created': 'a link is created',
  'link.updated': 'a link is changed',
  'link.deleted': 'a link is deleted',
  'link.clicked': 'a link is clicked (batched)',
  'link.limit_reached': "a link reaches its click limit",
  'asset.ready': 'an uploaded image is ready',
};

/** A Standard Webhooks secret: `whsec_` + base64 of 32 random bytes (the endpoints table accepts 24–64). */
export function newSecret(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return `whsec_${btoa(String.fromCharCode(...bytes))}`;
}

function SecretOnce({ secret, children }: { secret: string; children: ComponentChildren }) {
  return (
    <div class="secret" role="status">
      <p>{children}</p>
      <code data-testid="webhook-secret">{secret}</code> <CopyButton text={secret} label="Copy secret" />
    </div>
  );
}

function EventTypes({ chosen, idPrefix }: { chosen: string[]; idPrefix: string }) {
  return (
    <fieldset>
      <legend>Events</legend>
      <p class="muted" id={`${idPrefix}-events-hint`}>
        None chosen means every event.
      </p>
      {EVENT_TYPES.map((t) => (
        <label class="check" key={t}>
          <input type="checkbox" name="event" value={t} defaultChecked={chosen.includes(t)} aria-describedby={`${idPrefix}-events-hint`} /> <code>{t}</code> — when{' '}
          {DESCRIBE[t]}
        </label>
      ))}
    </fieldset>
  );
}

function endpointState(e: { enabled: boolean; disabled_reason: string | null; failing_since: string | null; consecutive_failures: number }): string {
  if (!e.enabled) return e.disabled_reason ? `Disabled: ${e.disabled_reason}` : 'Disabled';
  if (e.failing_since) return `Failing since ${new Date(e.failing_since).toLocaleString()} (${e.consecutive_failures} failures in a row)`;
  return 'Enabled';
}

const formInput = (form: HTMLFormElement) => {
  const f = new FormData(form);
  const description = String(f.get('description') ?? '').trim();
  return { url: String(f.get('url') ?? '').trim(), description: description || null, event_types: f.getAll('event').map(String) };
};

export function WebhooksPage() {
  const list = useAsync(() => gql(ListWebhooks), []);
  const [error, setError] = useState<unknown>();
  const [created, setCreated] = useState<{ url: string; secret: string }>();
  const act = async (what: () => Promise<unknown>) => {
    setError(undefined);
    try {
      await what();
      list.reload();
    } catch (err) {
      setError(err);
    }
  };
  const notes = list.data?.webhooks_notifications ?? [];
  return (
    <main id="main">
      <h1>Webhooks</h1>
      <p class="muted">
        Linkport POSTs signed JSON (Standard Webhooks) to your endpoints when something happens. Failed deliveries are retried with backoff; an endpoint that keeps failing
        is disabled and you are told here.
      </p>
      {notes.length > 0 && (
        <section class="card" aria-labelledby="notes-h">
          <h2 id="notes-h">Notices</h2>
          <ul>
            {notes.map((n) => (
              <li key={n.id}>
                {n.message} <span class="muted">({new Date(n.created_at).toLocaleString()})</span>
              </li>
            ))}
          </ul>
          <button type="button" onClick={() => act(() => gql(MarkNotificationsRead, { ids: notes.map((n) => n.id), at: new Date().toISOString() }))}>
            Dismiss
          </button>
        </section>
      )}
      <section aria-labelledby="new-hook-h">
        <h2 id="new-hook-h">New endpoint</h2>
        <form
          onSubmit={async (e) => {
            e.preventDefault();
            const form = e.currentTarget as HTMLFormElement;
            const input = formInput(form);
            const secret = newSecret();
            setCreated(undefined);
            await act(async () => {
              await gql(CreateWebhook, { object: { ...input, secret } });
              setCreated({ url: input.url, secret });
              form.reset();
            });
          }}
        >
          <Field id="hook-url" label="Endpoint URL">
            <input id="hook-url" name="url" type="url" required maxLength={2048} placeholder="https://example.com/webhooks/linkport" />
          </Field>
          <Field id="hook-description" label="Description (optional)">
            <input id="hook-description" name="description" maxLength={500} />
          </Field>
          <EventTypes chosen={[]} idPrefix="new" />
          <button type="submit" class="primary">
            Add endpoint
          </button>
        </form>
        {created && (
          <SecretOnce secret={created.secret}>
            Signing secret for <strong>{created.url}</strong>: copy it now — it is shown only once. Verify each delivery's <code>webhook-signature</code> with it.
          </SecretOnce>
        )}
      </section>
      {error !== undefined && <ErrorMessage error={error} />}
      <section aria-labelledby="hooks-h">
        <h2 id="hooks-h">Your endpoints</h2>
        {list.loading && !list.data ? (
          <Loading label="Loading your endpoints…" />
        ) : list.error !== undefined ? (
          <ErrorMessage error={list.error} retry={list.reload} />
        ) : !list.data?.webhooks_endpoints.length ? (
          <Empty>
            <p>No endpoints yet. Add one above to be told when your links change or are clicked.</p>
          </Empty>
        ) : (
          <table>
            <caption class="sr-only">Webhook endpoints</caption>
            <thead>
              <tr>
                <th scope="col">Endpoint</th>
                <th scope="col">Events</th>
                <th scope="col">State</th>
                <th scope="col">
                  <span class="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {list.data.webhooks_endpoints.map((e) => (
                <tr key={e.id}>
                  <td class="dest">
                    <A href={`/webhooks/${e.id}`}>{e.url}</A>
                    {e.description && <div class="muted">{e.description}</div>}
                  </td>
                  <td>{e.event_types.length ? e.event_types.join(', ') : 'All events'}</td>
                  <td>{endpointState(e)}</td>
                  <td>
                    <button type="button" aria-label={`${e.enabled ? 'Disable' : 'Enable'} ${e.url}`} onClick={() => act(() => gql(UpdateWebhook, { id: e.id, set: { enabled: !e.enabled } }))}>
                      {e.enabled ? 'Disable' : 'Enable'}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </main>
  );
}

const PAGE = 20;

function loadDeliveries(id: string, page: number) {
  // One more than a page: tells whether there is a next page without a count (no aggregate permission).
  return gql(WebhookDeliveries, { id, limit: PAGE + 1, offset: (page - 1) * PAGE });
}

export function WebhookPage({ id }: { id: string }) {
  const [page, setPage] = useState(1);
  const data = useAsync(() => loadDeliveries(id, page), [id, page]);
  const [error, setError] = useState<unknown>();
  const [said, setSaid] = useState('');
  const [secret, setSecret] = useState<{ value: string; previousUntil: string | null }>();
  const [editing, setEditing] = useState(false);
  const deliveries = data.data?.webhooks_deliveries ?? [];
  const busy = deliveries.some((d) => d.status === 'pending' || d.status === 'delivering');
  // While a delivery is queued or in flight (a replay just asked for), the log follows it.
  useEffect(() => {
    if (!busy) return;
    const t = setTimeout(data.reload, 2000);
    return () => clearTimeout(t);
  }, [data.data]);
  const act = async (what: () => Promise<unknown>, done: string) => {
    setError(undefined);
    setSaid('');
    try {
      await what();
      setSaid(done);
      data.reload();
      return true;
    } catch (err) {
      setError(err);
      return false;
    }
  };
  if (data.loading && !data.data) return <Loading label="Loading the endpoint…" />;
  if (data.error !== undefined && !data.data) {
    return (
      <main id="main">
        <h1>Webhook endpoint</h1>
        <ErrorMessage error={data.error} retry={data.reload} />
      </main>
    );
  }
  const e: Endpoint | null | undefined = data.data?.webhooks_endpoints_by_pk;
  if (!e) {
    return (
      <main id="main">
        <h1>Endpoint not found</h1>
        <p>
          It may have been deleted. <A href="/webhooks">Back to webhooks</A>
        </p>
      </main>
    );
  }
  return (
    <main id="main">
      <p>
        <A href="/webhooks">← Webhooks</A>
      </p>
      <h1 class="dest">{e.url}</h1>
      <dl class="kv">
        <dt>Description</dt>
        <dd>{e.description ?? '—'}</dd>
        <dt>Events</dt>
        <dd>{e.event_types.length ? e.event_types.join(', ') : 'All events'}</dd>
        <dt>State</dt>
        <dd data-testid="endpoint-state">{endpointState(e)}</dd>
        {e.previous_secret_expires_at && new Date(e.previous_secret_expires_at) > new Date() && (
          <>
            <dt>Previous secret</dt>
            <dd>still signs until {new Date(e.previous_secret_expires_at).toLocaleString()}</dd>
          </>
        )}
      </dl>
      <div class="actions">
        <button type="button" onClick={() => setEditing(!editing)} aria-expanded={editing}>
          Edit
        </button>
        <button type="button" onClick={() => act(() => gql(UpdateWebhook, { id: e.id, set: { enabled: !e.enabled } }), e.enabled ? 'Endpoint disabled.' : 'Endpoint enabled.')}>
          {e.enabled ? 'Disable' : 'Enable'}
        </button>
        <button
          type="button"
          onClick={async () => {
            if (!confirm('Rotate the signing secret? The current one keeps signing next to the new one for 24 hours.')) return;
            const value = newSecret();
            let until: string | null = null;
            if (
              await act(async () => {
                const r = await gql(UpdateWebhook, { id: e.id, set: { secret: value } });
                until = r.update_webhooks_endpoints_by_pk?.previous_secret_expires_at ?? null;
              }, 'Secret rotated.')
            )
              setSecret({ value, previousUntil: until });
          }}
        >
          Rotate secret
        </button>
        <button
          type="button"
          class="danger"
          onClick={async () => {
            if (!confirm(`Delete the endpoint ${e.url} and its delivery log?`)) return;
            if (await act(() => gql(DeleteWebhook, { id: e.id }), 'Endpoint deleted.')) navigate('/webhooks');
          }}
        >
          Delete
        </button>
      </div>
      {secret && (
        <SecretOnce secret={secret.value}>
          New signing secret: copy it now — it is shown only once.
          {secret.previousUntil && ` The previous one keeps signing until ${new Date(secret.previousUntil).toLocaleString()}.`}
        </SecretOnce>
      )}
      {editing && (
        <form
          class="card"
          aria-label="Edit endpoint"
          onSubmit={async (ev) => {
            ev.preventDefault();
            if (await act(() => gql(UpdateWebhook, { id: e.id, set: formInput(ev.currentTarget as HTMLFormElement) }), 'Endpoint saved.')) setEditing(false);
          }}
        >
          <Field id="edit-url" label="Endpoint URL">
            <input id="edit-url" name="url" type="url" required maxLength={2048} defaultValue={e.url} />
          </Field>
          <Field id="edit-description" label="Description (optional)">
            <input id="edit-description" name="description" maxLength={500} defaultValue={e.description ?? ''} />
          </Field>
          <EventTypes chosen={e.event_types} idPrefix="edit" />
          <button type="submit" class="primary">
            Save endpoint
          </button>
        </form>
      )}
      {error !== undefined && <ErrorMessage error={error} />}
      <p role="status" class="ok">
        {said}
      </p>
      <section aria-labelledby="log-h">
        <div class="title-row">
          <h2 id="log-h">Delivery log</h2>
          <button type="button" onClick={data.reload}>
            Refresh
          </button>
        </div>
        {data.error !== undefined && <ErrorMessage error={data.error} retry={data.reload} />}
        {deliveries.length === 0 ? (
          <Empty>
            <p>No deliveries yet. They appear here when one of the chosen events happens (create a link to see one).</p>
          </Empty>
        ) : (
          <>
            <table aria-busy={data.loading}>
              <caption class="sr-only">Deliveries to this endpoint, newest first</caption>
              <thead>
                <tr>
                  <th scope="col">Event</th>
                  <th scope="col">Status</th>
                  <th scope="col">Attempts</th>
                  <th scope="col">Response</th>
                  <th scope="col">Created</th>
                  <th scope="col">
                    <span class="sr-only">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {deliveries.slice(0, PAGE).map((d) => (
                  <tr key={d.id} data-testid="delivery">
                    <td>
                      <code>{d.event_type}</code>
                    </td>
                    <td class={`status-${d.status}`}>
                      {d.status}
                      {d.status === 'pending' && d.attempts > 0 && <div class="muted">next try {new Date(d.next_attempt_at).toLocaleTimeString()}</div>}
                    </td>
                    <td>
                      <details>
                        <summary>
                          {d.attempts} <span class="muted">({d.attempt_log.length} in the log)</span>
                        </summary>
                        <ol>
                          {d.attempt_log.map((a) => (
                            <li key={a.id}>
                              {new Date(a.started_at).toLocaleTimeString()}: {a.response_code ?? 'no response'} in {a.duration_ms} ms{a.error ? ` — ${a.error}` : ''}
                            </li>
                          ))}
                        </ol>
                      </details>
                    </td>
                    <td>
                      {d.last_response_code ?? '—'}
                      {d.last_duration_ms !== null && <span class="muted"> ({d.last_duration_ms} ms)</span>}
                      {d.last_error && <div class="muted">{d.last_error}</div>}
                    </td>
                    <td>{new Date(d.created_at).toLocaleString()}</td>
                    <td>
                      {(d.status === 'succeeded' || d.status === 'dead') && (
                        <button
                          type="button"
                          aria-label={`Replay ${d.event_type} from ${new Date(d.created_at).toLocaleTimeString()}`}
                          onClick={() => act(() => gql(ReplayDelivery, { id: d.id, at: new Date().toISOString() }), 'Replay queued.')}
                        >
                          Replay
                        </button>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            <nav class="pager" aria-label="Delivery pages">
              <button type="button" disabled={page <= 1} onClick={() => setPage(page - 1)}>
                Newer
              </button>
              <span>Page {page}</span>
              <button type="button" disabled={deliveries.length <= PAGE} onClick={() => setPage(page + 1)}>
                Older
              </button>
            </nav>
          </>
        )}
      </section>
    </main>
  );
}
