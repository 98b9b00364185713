import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { logout, session } from './api.ts';
import { disposeSubscriptions } from './gql.ts';
import { AccountPage } from './pages/account.tsx';
import { AuthPage } from './pages/auth.tsx';
import { DomainsPage } from './pages/domains.tsx';
import { KeysPage } from './pages/keys.tsx';
import { LinkFormPage } from './pages/link-form.tsx';
import { LinkPage } from './pages/link.tsx';
import { LinksPage } from './pages/links.tsx';
import { TagsPage } from './pages/tags.tsx';
import { WebhookPage, WebhooksPage } from './pages/webhooks.tsx';
import { match, navigate, usePath } from './router.ts';
import { A, Loading } from './ui.tsx';
import './styles.css';

function useSession() {
  const [, setN] = useState(0);
  useEffect(() => session.subscribe(() => setN((n) => n + 1)), []);
  return session;
}

function useOnline() {
  const [online, setOnline] = useState(navigator.onLine);
  useEffect(() => {
    const on = () => setOnline(navigator.onLine);
    addEventListener('online', on);
    addEventListener('offline', on);
    return () => {
      removeEventListener('online', on);
      removeEventListener('offline', on);
    };
  }, []);
  return online;
}

const TITLES: Array<[string, string]> = [
  ['/login', 'Log in'],
  ['/signup', 'Sign up'],
  ['/links/new', 'New link'],
  ['/links/:id/edit', 'Edit link'],
  ['/links/:id', 'Link'],
  ['/tags', 'Tags'],
  ['/domains', 'Domains'],
  ['/webhooks/:id', 'Webhook endpoint'],
  ['/webhooks', 'Webhooks'],
  ['/keys', 'API keys'],
  ['/account', 'Account'],
  ['/', 'Links'],
];

function App() {
  const s = useSession();
  const online = useOnline();
  const { path, query } = usePath();
  const [booted, setBooted] = useState(false);
  useEffect(() => {
    // A reload: the access token was only in memory; the httpOnly cookie brings the session back.
    void s.refresh().finally(() => setBooted(true));
  }, []);
  const publicPage = path === '/login' || path === '/signup';
  useEffect(() => {
    if (!booted) return;
    if (!s.token && !publicPage) navigate('/login', true);
    if (s.token && publicPage) navigate('/', true);
  }, [booted, s.token, path]);
  useEffect(() => {
    const t = TITLES.find(([p]) => match(p, path));
    document.title = `${t?.[1] ?? 'Not found'} · Linkport`;
  }, [path]);

  let page;
  let m: Record<string, string> | undefined;
  if (!booted) page = <Loading label="Opening Linkport…" />;
  else if (path === '/login') page = <AuthPage mode="login" />;
  else if (path === '/signup') page = <AuthPage mode="signup" />;
  else if (!s.token) page = <Loading />;
  else if (path === '/' || path === '') page = <LinksPage query={query} />;
  else if (path === '/links/new') page = <LinkFormPage />;
  else if ((m = match('/links/:id/edit', path))) page = <LinkFormPage id={m.id} />;
  else if ((m = match('/links/:id', path))) page = <LinkPage id={m.id!} />;
  else if (path === '/tags') page = <TagsPage />;
  else if (path === '/domains') page = <DomainsPage />;
  else if (path === '/webhooks') page = <WebhooksPage />;
  else if ((m = match('/webhooks/:id', path))) page = <WebhookPage id={m.id!} />;
  else if (path === '/keys') page = <KeysPage />;
  else if (path === '/account') page = <AccountPage />;
  else
    page = (
      <main id="main">
        <h1>Page not found</h1>
        <p>
          <A href="/">Go to your links</A>
        </p>
      </main>
    );

  return (
    <>
      <a href="#main" class="skip">
        Skip to content
      </a>
      <header class="top">
        <A href="/" class="brand">
          Linkport
        </A>
        {s.token && (
          <nav aria-label="Main">
            <A href="/">Links</A>
            <A href="/tags">Tags</A>
            <A href="/domains">Domains</A>
            <A href="/webhooks">Webhooks</A>
            <A href="/keys">API keys</A>
            <A href="/account">Account</A>
            <button
              type="button"
              onClick={async () => {
                disposeSubscriptions();
                await logout().catch(() => undefined);
                navigate('/login', true);
              }}
            >
              Log out
            </button>
          </nav>
        )}
      </header>
      {!online && (
        <div class="banner warn" role="status">
          You are offline. What you see may be out of date; changes will not be sent until you are back online.
        </div>
      )}
      {s.expired && publicPage && (
        <div class="banner" role="status">
          Your session has expired. Please log in again.
        </div>
      )}
      {page}
    </>
  );
}

render(<App />, document.getElementById('root')!);
