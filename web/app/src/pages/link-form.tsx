import { useState } from 'preact/hooks';
import { gql } from '../gql.ts';
import { CreateLink, GetLink, ListLabels, SetLinkTags, UpdateLink, type Link, type LinkInput, type Variant } from '../ops.ts';
import { navigate } from '../router.ts';
import { A, ErrorMessage, Field, Loading, useAsync } from '../ui.tsx';

const blank = (s: FormDataEntryValue | null) => {
  const v = String(s ?? '').trim();
  return v === '' ? null : v;
};

/** "DE=https://…" lines ↔ {"DE": "https://…"} (links.geo_targets). */
function parseGeo(text: string): Record<string, string> | string {
  const out: Record<string, string> = {};
  for (const line of text.split('\n').map((l) => l.trim()).filter(Boolean)) {
    const m = /^([A-Za-z]{2})\s*[=:]\s*(\S+)$/.exec(line);
    if (!m) return `Country destinations: "${line}" is not "CC=https://…" (a two-letter country code).`;
    out[m[1]!.toUpperCase()] = m[2]!;
  }
  return out;
}

/** "50 https://…" lines ↔ [{weight: 50, url}] (links.ab_variants). */
function parseVariants(text: string): Variant[] | string {
  const out: Variant[] = [];
  for (const line of text.split('\n').map((l) => l.trim()).filter(Boolean)) {
    const m = /^(\d{1,3})\s+(\S+)$/.exec(line);
    if (!m || Number(m[1]) < 1 || Number(m[1]) > 100) return `A/B variants: "${line}" is not "weight https://…" (weight 1–100).`;
    out.push({ weight: Number(m[1]), url: m[2]! });
  }
  return out;
}

function toLocalInput(iso: string | null): string {
  if (!iso) return '';
  const d = new Date(iso);
  return new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
}

export function LinkFormPage({ id }: { id?: string }) {
  const existing = useAsync(async () => (id ? (await gql(GetLink, { id })).links_links_by_pk : null), [id]);
  if (id && existing.loading) return <Loading />;
  if (id && existing.error !== undefined) return <ErrorMessage error={existing.error} retry={existing.reload} />;
  if (id && !existing.data) {
    return (
      <main id="main">
        <h1>Link not found</h1>
        <p>It may have been deleted.</p>
      </main>
    );
  }
  return <LinkForm link={existing.data ?? undefined} />;
}

function LinkForm({ link }: { link?: Link }) {
  const [error, setError] = useState<unknown>();
  const [problem, setProblem] = useState<string>();
  const [busy, setBusy] = useState(false);
  // Preact has no defaultValue for <select>: a controlled value keeps the choice across re-renders.
  const [redirectType, setRedirectType] = useState(String(link?.redirect_type ?? 302));
  const [domainId, setDomainId] = useState(link?.domain_id ?? '');
  // Tags and domains are optional extras: the form works (without them) if they fail to load.
  const labels = useAsync(() => gql(ListLabels), []);
  const tags = { ...labels, data: labels.data && { links_tags: labels.data.links_tags } };
  const domains = { data: labels.data && { links_domains: labels.data.links_domains } };
  const had = new Set((link?.link_tags ?? []).map((t) => t.tag.id));
  const onSubmit = async (e: Event) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget as HTMLFormElement);
    setError(undefined);
    setProblem(undefined);
    const geo = parseGeo(String(f.get('geo') ?? ''));
    if (typeof geo === 'string') return setProblem(geo);
    const variants = parseVariants(String(f.get('variants') ?? ''));
    if (typeof variants === 'string') return setProblem(variants);
    const expires = blank(f.get('expires_at'));
    const max = blank(f.get('max_clicks'));
    const obj: LinkInput = {
      destination: String(f.get('destination')).trim(),
      title: blank(f.get('title')),
      description: blank(f.get('description')),
      redirect_type: Number(f.get('redirect_type')),
      forward_query: f.get('forward_query') === 'on',
      utm_source: blank(f.get('utm_source')),
      utm_medium: blank(f.get('utm_medium')),
      utm_campaign: blank(f.get('utm_campaign')),
      utm_term: blank(f.get('utm_term')),
      utm_content: blank(f.get('utm_content')),
      expires_at: expires ? new Date(expires).toISOString() : null,
      expired_url: blank(f.get('expired_url')),
      max_clicks: max,
      ios_url: blank(f.get('ios_url')),
      android_url: blank(f.get('android_url')),
      geo_targets: geo,
      ab_variants: variants,
      domain_id: domainId || null,
    };
    const chosen = f.getAll('tag').map(String);
    const code = blank(f.get('code'));
    if (!link && code) obj.code = code;
    const pw = String(f.get('password') ?? '');
    if (f.get('remove_password') === 'on') obj.password = null;
    else if (pw) obj.password = pw;
    setBusy(true);
    try {
      const saveTags = (id: string, before: Set<string>) =>
        gql(SetLinkTags, { link: id, keep: chosen, add: chosen.filter((t) => !before.has(t)).map((tag_id) => ({ link_id: id, tag_id })) });
      if (link) {
        await gql(UpdateLink, { id: link.id, set: obj });
        if (tags.data) await saveTags(link.id, had);
        navigate(`/links/${link.id}`);
      } else {
        const r = await gql(CreateLink, { object: obj });
        const created = r.insert_links_links_one;
        if (created && chosen.length) await saveTags(created.id, new Set());
        if (created) navigate(`/links/${created.id}`);
      }
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const l = link;
  return (
    <main id="main">
      <h1>{l ? `Edit /${l.code}` : 'New link'}</h1>
      <form onSubmit={onSubmit} class="link-form">
        <Field id="destination" label="Destination URL">
          <input id="destination" name="destination" type="url" required maxLength={2048} defaultValue={l?.destination} placeholder="https://example.com/page" />
        </Field>
        {!l && (
          <Field id="code" label="Custom code (optional)" hint="3–64 letters, digits, - or _. Leave empty for a generated code.">
            <input id="code" name="code" pattern="[A-Za-z0-9_\-]{3,64}" maxLength={64} aria-describedby="code-hint" />
          </Field>
        )}
        <Field id="title" label="Title">
          <input id="title" name="title" maxLength={500} defaultValue={l?.title ?? ''} />
        </Field>
        <Field id="description" label="Description">
          <textarea id="description" name="description" maxLength={2000} rows={2} defaultValue={l?.description ?? ''} />
        </Field>
        <fieldset class="tags">
          <legend>Tags</legend>
          {tags.loading && !tags.data ? (
            <Loading label="Loading tags…" />
          ) : tags.error !== undefined ? (
            <ErrorMessage error={tags.error} retry={tags.reload} />
          ) : !tags.data?.links_tags.length ? (
            <p class="muted">
              No tags yet. <A href="/tags">Create tags</A> to group your links.
            </p>
          ) : (
            tags.data.links_tags.map((t) => (
              <label class="check inline" key={t.id}>
                <input type="checkbox" name="tag" value={t.id} defaultChecked={had.has(t.id)} /> {t.name}
              </label>
            ))
          )}
        </fieldset>
        {!!domains.data?.links_domains.length && (
          <Field id="domain" label="Domain" hint="Recorded on the link and used by the domain filter; short links are served on the main host.">
            <select id="domain" value={domainId} aria-describedby="domain-hint" onChange={(e) => setDomainId((e.currentTarget as HTMLSelectElement).value)}>
              <option value="">None (the main host)</option>
              {domains.data.links_domains.map((d) => (
                <option value={d.id} key={d.id}>
                  {d.hostname}
                </option>
              ))}
            </select>
          </Field>
        )}
        <details open={!!l}>
          <summary>Redirect rules</summary>
          <Field id="redirect_type" label="Redirect type">
            <select id="redirect_type" name="redirect_type" value={redirectType} onChange={(e) => setRedirectType((e.currentTarget as HTMLSelectElement).value)}>
              <option value="302">302 Found (temporary, counted every time)</option>
              <option value="301">301 Moved Permanently (browsers cache it)</option>
              <option value="307">307 Temporary Redirect (keeps the method)</option>
              <option value="308">308 Permanent Redirect (keeps the method)</option>
            </select>
          </Field>
          <Field id="expires_at" label="Expires at (your local time)">
            <input id="expires_at" name="expires_at" type="datetime-local" defaultValue={toLocalInput(l?.expires_at ?? null)} />
          </Field>
          <Field id="expired_url" label="After expiry or the click limit, send visitors to">
            <input id="expired_url" name="expired_url" type="url" defaultValue={l?.expired_url ?? ''} placeholder="https://example.com/ended" />
          </Field>
          <Field id="max_clicks" label="Click limit">
            <input id="max_clicks" name="max_clicks" type="number" min={1} step={1} defaultValue={l?.max_clicks ?? ''} />
          </Field>
          <Field id="password" label={l ? 'New password (leave empty to keep the current one)' : 'Password (optional)'}>
            <input id="password" name="password" type="password" autocomplete="new-password" maxLength={200} />
          </Field>
          {l && (
            <label class="check">
              <input type="checkbox" name="remove_password" /> Remove the password
            </label>
          )}
          <Field id="ios_url" label="iPhone and iPad destination">
            <input id="ios_url" name="ios_url" type="url" defaultValue={l?.ios_url ?? ''} />
          </Field>
          <Field id="android_url" label="Android destination">
            <input id="android_url" name="android_url" type="url" defaultValue={l?.android_url ?? ''} />
          </Field>
          <Field id="geo" label="Country destinations" hint="One per line: DE=https://example.de">
            <textarea
              id="geo"
              name="geo"
              rows={2}
              aria-describedby="geo-hint"
              defaultValue={Object.entries(l?.geo_targets ?? {})
                .map(([c, u]) => `${c}=${u}`)
                .join('\n')}
            />
          </Field>
          <Field id="variants" label="A/B variants" hint="One per line: weight then URL, e.g. 50 https://example.com/b">
            <textarea id="variants" name="variants" rows={2} aria-describedby="variants-hint" defaultValue={(l?.ab_variants ?? []).map((v) => `${v.weight} ${v.url}`).join('\n')} />
          </Field>
        </details>
        <details open={!!l?.utm_source}>
          <summary>UTM and query forwarding</summary>
          <label class="check">
            <input type="checkbox" name="forward_query" defaultChecked={l?.forward_query ?? true} /> Forward the visitor's query string to the destination
          </label>
          {(['utm_source', 'utm_medium', 'utm_campaign', 'utm_term', 'utm_content'] as const).map((k) => (
            <Field id={k} label={k} key={k}>
              <input id={k} name={k} maxLength={200} defaultValue={l?.[k] ?? ''} />
            </Field>
          ))}
        </details>
        {problem && (
          <p class="error" role="alert">
            {problem}
          </p>
        )}
        {error !== undefined && <ErrorMessage error={error} />}
        <button type="submit" class="primary" disabled={busy}>
          {busy ? 'Saving…' : l ? 'Save changes' : 'Create link'}
        </button>
      </form>
    </main>
  );
}
