/**
 * Domains (links.domains): a hostname per row, unique across accounts, `verified` set by the
 * platform only (no user column). What the schema allows, and no more: add, list, delete, choose one
 * on a link, filter links by it. The redirect does not route by Host yet (it serves every code on
 * the main or SHORT_LINK_HOST host) and there is no verification flow, so the page says so.
 */
import { useState } from 'preact/hooks';
import { gql } from '../gql.ts';
import { AddDomain, DeleteDomain, ListDomains } from '../ops.ts';
import { A, Empty, ErrorMessage, Field, Loading, useAsync } from '../ui.tsx';

export function DomainsPage() {
  const domains = useAsync(() => gql(ListDomains), []);
  const [error, setError] = useState<unknown>();
  const [said, setSaid] = useState('');
  return (
    <main id="main">
      <h1>Domains</h1>
      <p class="muted">
        Record the domains you use for your links, choose one on a link and filter your links by it. Short links are still served on this
        site's host: serving them on your own domain, and verifying it, is not available yet.
      </p>
      <form
        class="inline-form"
        onSubmit={async (e) => {
          e.preventDefault();
          const form = e.currentTarget as HTMLFormElement;
          const hostname = String(new FormData(form).get('hostname') ?? '')
            .trim()
            .toLowerCase();
          setError(undefined);
          setSaid('');
          try {
            await gql(AddDomain, { hostname });
            setSaid(`${hostname} added.`);
            form.reset();
            domains.reload();
          } catch (err) {
            setError(err);
          }
        }}
      >
        <Field id="hostname" label="Hostname">
          <input id="hostname" name="hostname" required maxLength={253} placeholder="links.example.com" />
        </Field>
        <button type="submit" class="primary">
          Add domain
        </button>
      </form>
      {error !== undefined && <ErrorMessage error={error} />}
      <p role="status" class="ok">
        {said}
      </p>
      {domains.loading && !domains.data ? (
        <Loading label="Loading your domains…" />
      ) : domains.error !== undefined ? (
        <ErrorMessage error={domains.error} retry={domains.reload} />
      ) : !domains.data?.links_domains.length ? (
        <Empty>
          <p>No domains yet.</p>
        </Empty>
      ) : (
        <table>
          <caption class="sr-only">Your domains</caption>
          <thead>
            <tr>
              <th scope="col">Hostname</th>
              <th scope="col">Verified</th>
              <th scope="col">Added</th>
              <th scope="col">
                <span class="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {domains.data.links_domains.map((d) => (
              <tr key={d.id}>
                <td>
                  <A href={`/?domain=${encodeURIComponent(d.id)}&status=all`}>{d.hostname}</A>
                </td>
                <td>{d.verified ? 'Yes' : 'Not yet'}</td>
                <td>{new Date(d.created_at).toLocaleDateString()}</td>
                <td>
                  <button
                    type="button"
                    class="danger"
                    aria-label={`Delete domain ${d.hostname}`}
                    onClick={async () => {
                      if (!confirm(`Delete ${d.hostname}? Its links stay and keep working.`)) return;
                      setError(undefined);
                      try {
                        await gql(DeleteDomain, { id: d.id });
                        setSaid(`${d.hostname} deleted.`);
                        domains.reload();
                      } catch (err) {
                        setError(err);
                      }
                    }}
                  >
                    Delete
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </main>
  );
}
