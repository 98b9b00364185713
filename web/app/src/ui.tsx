/** Small accessible building blocks: every state (loading, empty, error, offline, limited) has one. */
import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError, sentence } from './errors.ts';
import { BASE, go } from './router.ts';

export function A(props: { href: string; children: ComponentChildren; class?: string }) {
  const href = props.href.startsWith('/') ? `${BASE}${props.href}` : props.href;
  return (
    <a href={href} class={props.class} onClick={go}>
      {props.children}
    </a>
  );
}

export function Loading({ label = 'Loading…' }: { label?: string }) {
  return (
    <p class="loading" role="status" aria-live="polite">
      <span class="spinner" aria-hidden="true" /> {label}
    </p>
  );
}

/** An error as a sentence; for a rate limit, a live countdown of Retry-After; a retry button. */
export function ErrorMessage({ error, retry }: { error: unknown; retry?: () => void }) {
  const limited = error instanceof ApiError && error.code === 'RATE_LIMITED' ? (error.retryAfter ?? 60) : undefined;
  const [left, setLeft] = useState(limited);
  useEffect(() => {
    setLeft(limited);
    if (limited === undefined) return;
    const t = setInterval(() => setLeft((s) => (s === undefined || s <= 0 ? 0 : s - 1)), 1000);
    return () => clearInterval(t);
  }, [error]);
  const text = limited !== undefined ? (left ? `Too many requests. You can try again in ${left} s.` : 'You can try again now.') : sentence(error);
  return (
    <div class="error" role="alert" data-code={error instanceof ApiError ? error.code : 'unknown'}>
      <p>{text}</p>
      {retry && (
        <button type="button" onClick={retry} disabled={!!left}>
          Try again
        </button>
      )}
    </div>
  );
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <div class="empty">{children}</div>;
}

export function Field(props: { label: string; hint?: string; children: ComponentChildren; id: string }) {
  return (
    <div class="field">
      <label for={props.id}>{props.label}</label>
      {props.children}
      {props.hint && (
        <small id={`${props.id}-hint`} class="hint">
          {props.hint}
        </small>
      )}
    </div>
  );
}

/** Copies text; says so for screen readers too. */
export function CopyButton({ text, label = 'Copy' }: { text: string; label?: string }) {
  const [done, setDone] = useState(false);
  return (
    <button
      type="button"
      onClick={async () => {
        try {
          await navigator.clipboard.writeText(text);
        } catch {
          // No clipboard permission (an http origin other than localhost): select-and-copy fallback.
          const ta = document.createElement('textarea');
          ta.value = text;
          document.body.append(ta);
          ta.select();
          document.execCommand('copy');
          ta.remove();
        }
        setDone(true);
        setTimeout(() => setDone(false), 2000);
      }}
    >
      {done ? 'Copied' : label}
      <span class="sr-only" role="status">
        {done ? 'Copied to the clipboard' : ''}
      </span>
    </button>
  );
}

/** Async data with its three states. */
export function useAsync<T>(fn: () => Promise<T>, deps: unknown[]): { data?: T; error?: unknown; loading: boolean; reload: () => void } {
  const [state, setState] = useState<{ data?: T; error?: unknown; loading: boolean }>({ loading: true });
  const [n, setN] = useState(0);
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true, error: undefined }));
    fn().then(
      (data) => live && setState({ data, loading: false }),
      (error: unknown) => live && setState({ error, loading: false }),
    );
    return () => {
      live = false;
    };
  }, [...deps, n]);
  return { ...state, reload: () => setN((x) => x + 1) };
}
