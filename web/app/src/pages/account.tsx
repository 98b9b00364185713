import { useState } from 'preact/hooks';
import { changePassword, deleteAccount, session } from '../api.ts';
import { disposeSubscriptions } from '../gql.ts';
import { ErrorMessage, Field } from '../ui.tsx';

export function AccountPage() {
  const [error, setError] = useState<unknown>();
  const [saved, setSaved] = useState(false);
  const [delError, setDelError] = useState<unknown>();
  return (
    <main id="main">
      <h1>Account</h1>
      <p>
        Signed in as <strong>{session.user?.email}</strong>
      </p>
      <section aria-labelledby="pw-h">
        <h2 id="pw-h">Change password</h2>
        <form
          onSubmit={async (e) => {
            e.preventDefault();
            const form = e.currentTarget as HTMLFormElement;
            const f = new FormData(form);
            setError(undefined);
            setSaved(false);
            try {
              await changePassword(String(f.get('current')), String(f.get('next')));
              form.reset();
              setSaved(true);
            } catch (err) {
              setError(err);
            }
          }}
        >
          <Field id="current" label="Current password">
            <input id="current" name="current" type="password" required autocomplete="current-password" />
          </Field>
          <Field id="next" label="New password" hint="At least 8 characters. Your other sessions are logged out.">
            <input id="next" name="next" type="password" required minLength={8} autocomplete="new-password" aria-describedby="next-hint" />
          </Field>
          {error !== undefined && <ErrorMessage error={error} />}
          {saved && (
            <p role="status" class="ok">
              Password changed.
            </p>
          )}
          <button type="submit" class="primary">
            Change password
          </button>
        </form>
      </section>
      <section aria-labelledby="del-h">
        <h2 id="del-h">Delete account</h2>
        <p>This deletes your links, their analytics and your API keys. It cannot be undone.</p>
        {delError !== undefined && <ErrorMessage error={delError} />}
        <form
          onSubmit={async (e) => {
            e.preventDefault();
            const password = String(new FormData(e.currentTarget as HTMLFormElement).get('password') ?? '');
            if (!confirm('Delete your account and all its links? This cannot be undone.')) return;
            setDelError(undefined);
            try {
              await deleteAccount(password);
              disposeSubscriptions();
            } catch (err) {
              setDelError(err);
            }
          }}
        >
          <Field id="delete-password" label="Your password, to confirm">
            <input id="delete-password" name="password" type="password" required autocomplete="current-password" />
          </Field>
          <button type="submit" class="danger">
            Delete my account
          </button>
        </form>
      </section>
    </main>
  );
}
