import { useState } from 'preact/hooks';
import { apiKeys, type Scope } from '../api.ts';
import { CopyButton, Empty, ErrorMessage, Field, Loading, useAsync } from '../ui.tsx';

const SCOPES: Array<[Scope, string]> = [
  ['links:read', 'Read links and analytics'],
  ['links:write', 'Create, edit and delete links'],
  ['media:read', 'Read images'],
  ['media:write', 'Upload images'],
];

export function KeysPage() {
  const keys = useAsync(() => apiKeys.list(), []);
  const [created, setCreated] = useState<{ name: string; key: string }>();
  const [error, setError] = useState<unknown>();
  return (
    <main id="main">
      <h1>API keys</h1>
      <section aria-labelledby="new-key-h">
        <h2 id="new-key-h">New key</h2>
        <form
          onSubmit={async (e) => {
            e.preventDefault();
            const form = e.currentTarget as HTMLFormElement;
            const f = new FormData(form);
            const scopes = f.getAll('scope').map(String) as Scope[];
            setError(undefined);
            if (scopes.length === 0) return setError(new Error('no scope'));
            try {
              const k = await apiKeys.create(String(f.get('name')), scopes);
              setCreated({ name: k.name, key: k.key });
              form.reset();
              keys.reload();
            } catch (err) {
              setError(err);
            }
          }}
        >
          <Field id="key-name" label="Name">
            <input id="key-name" name="name" required maxLength={100} placeholder="e.g. CI pipeline" />
          </Field>
          <fieldset>
            <legend>Scopes</legend>
            {SCOPES.map(([s, label]) => (
              <label class="check" key={s}>
                <input type="checkbox" name="scope" value={s} defaultChecked={s === 'links:read'} /> <code>{s}</code> — {label}
              </label>
            ))}
          </fieldset>
          {error !== undefined &&
            (error instanceof Error && error.message === 'no scope' ? (
              <p role="alert" class="error">
                Choose at least one scope.
              </p>
            ) : (
              <ErrorMessage error={error} />
            ))}
          <button type="submit" class="primary">
            Create key
          </button>
        </form>
        {created && (
          <div class="secret" role="status">
            <p>
              <strong>{created.name}</strong>: copy the key now — it is shown only once.
            </p>
            <code data-testid="new-key">{created.key}</code> <CopyButton text={created.key} label="Copy key" />
          </div>
        )}
      </section>
      <section aria-labelledby="keys-h">
        <h2 id="keys-h">Your keys</h2>
        {keys.loading && !keys.data ? (
          <Loading />
        ) : keys.error !== undefined ? (
          <ErrorMessage error={keys.error} retry={keys.reload} />
        ) : !keys.data?.length ? (
          <Empty>
            <p>No API keys yet. A key lets a script use the APIs without your password.</p>
          </Empty>
        ) : (
          <table>
            <caption class="sr-only">API keys</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Key</th>
                <th scope="col">Scopes</th>
                <th scope="col">Created</th>
                <th scope="col">
                  <span class="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {keys.data.map((k) => (
                <tr key={k.id}>
                  <td>{k.name}</td>
                  <td>
                    <code>{k.prefix}…</code>
                  </td>
                  <td>{k.scopes.join(', ')}</td>
                  <td>{k.created_at ? new Date(k.created_at).toLocaleDateString() : ''}</td>
                  <td>
                    <button
                      type="button"
                      class="danger"
                      aria-label={`Revoke key ${k.name}`}
                      onClick={async () => {
                        if (!confirm(`Revoke "${k.name}"? Scripts using it stop working within seconds.`)) return;
                        try {
                          await apiKeys.revoke(k.id);
                          keys.reload();
                        } catch (err) {
                          setError(err);
                        }
                      }}
                    >
                      Revoke
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
