import { useState } from 'preact/hooks';
import { login, register } from '../api.ts';
import { A, ErrorMessage, Field } from '../ui.tsx';

export function AuthPage({ mode }: { mode: 'login' | 'signup' }) {
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const signup = mode === 'signup';
  const onSubmit = async (e: Event) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget as HTMLFormElement);
    setBusy(true);
    setError(undefined);
    try {
      const email = String(f.get('email'));
      const password = String(f.get('password'));
      if (signup) await register(email, password, String(f.get('name') ?? ''));
      else await login(email, password);
      // No navigate here: the shell moves a signed-in person off /login (main.tsx). Navigating after
      // the await raced a click made as soon as the menu appeared (it undid the person's choice).
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="narrow" id="main">
      <h1>{signup ? 'Create your account' : 'Log in to Linkport'}</h1>
      <form onSubmit={onSubmit} aria-describedby={error ? 'auth-error' : undefined}>
        {signup && (
          <Field id="name" label="Your name (optional)">
            <input id="name" name="name" autocomplete="name" maxLength={400} />
          </Field>
        )}
        <Field id="email" label="Email">
          <input id="email" name="email" type="email" required autocomplete="email" maxLength={320} />
        </Field>
        <Field id="password" label="Password" hint={signup ? 'At least 8 characters.' : undefined}>
          <input
            id="password"
            name="password"
            type="password"
            required
            minLength={signup ? 8 : 1}
            maxLength={256}
            autocomplete={signup ? 'new-password' : 'current-password'}
            aria-describedby={signup ? 'password-hint' : undefined}
          />
        </Field>
        <div id="auth-error">{error !== undefined && <ErrorMessage error={error} />}</div>
        <button type="submit" class="primary" disabled={busy}>
          {busy ? 'Please wait…' : signup ? 'Sign up' : 'Log in'}
        </button>
      </form>
      <p>
        {signup ? (
          <>
            Already have an account? <A href="/login">Log in</A>
          </>
        ) : (
          <>
            New here? <A href="/signup">Create an account</A>
          </>
        )}
      </p>
    </main>
  );
}
