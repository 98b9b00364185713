import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { logout, session } from './api.ts';
import { disposeSubscriptions } from './gql.ts';
import { AccountPage } from './pages/account.tsx';
import { AuthPage } from './pages/auth.tsx';
import { KeysPage } from './pages/keys.tsx';
import { LinkFormPage } from './pages/link-form.tsx';
import { LinkPage } from './pages/link.tsx';
import { LinksPage } from './pages/links.tsx';
import { match, navigate, usePath } from './router.ts';
import { A, ErrorMessage, Loading } from './ui.tsx';
import { ApiError } from './errors.ts';
import type { ComponentType } from 'preact';
import './styles.css';

/**
 * Pages most visits never open (tags, domains, webhooks) load on first use, as uPlot does: the
 * first load stays the links pages' size (bench:web). A chunk that cannot load (offline, a deploy
 * replaced it) is an error with a retry, not a blank page.
 */
const pageLoaders = {
  analytics: () => import('./pages/analytics.tsx').then((m) => m.AnalyticsPage as ComponentType),
  tags: () => import('./pages/tags.tsx').then((m) => m.TagsPage as ComponentType),
  domains: () => import('./pages/domains.tsx').then((m) => m.DomainsPage as ComponentType),
  webhooks: () => import('./pages/webhooks.tsx').then((m) => m.WebhooksPage as ComponentType),
  webhook: () => import('./pages/webhooks.tsx').then((m) => m.WebhookPage as ComponentType<{ id: string }>),
};

function LazyPage<P extends object>({ load, props }: { load: () => Promise<ComponentType<P>>; props: P }) {
  const [state, setState] = useState<{ C?: ComponentType<P>; error?: unknown }>({});
  const [attempt, setAttempt] = useState(0);
  useEffect(() => {
    let live = true;
    load().then(
      (C) => live && setState({ C }),
      () => live && setState({ error: new ApiError(navigator.onLine ? 'NETWORK' : 'OFFLINE', 'page chunk') }),
    );
    return () => {
      live = false;
    };
  }, [load, attempt]);
  if (state.error !== undefined) {
    return (
      <main id="main">
        <ErrorMessage error={state.error} retry={() => setAttempt((n) => n + 1)} />
      </main>
    );
  }
  return state.C ? <state.C {...props} /> : <Loading />;
}

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
  ['/analytics', 'Analytics'],
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
  else if (path === '/analytics') page = <LazyPage load={pageLoaders.analytics} props={{}} />;
  else if (path === '/tags') page = <LazyPage load={pageLoaders.tags} props={{}} />;
  else if (path === '/domains') page = <LazyPage load={pageLoaders.domains} props={{}} />;
  else if (path === '/webhooks') page = <LazyPage load={pageLoaders.webhooks} props={{}} />;
  else if ((m = match('/webhooks/:id', path))) page = <LazyPage key={m.id} load={pageLoaders.webhook} props={{ id: m.id! }} />;
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
            <A href="/analytics">Analytics</A>
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
      {s.notice && publicPage && (
        <div class="banner" role="status">
          {s.notice}
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
