import { useRef, useState } from 'preact/hooks';
import { assetUrl, uploadImage } from '../api.ts';
import { gql } from '../gql.ts';
import { AnalyticsPanel, LiveCounter } from '../analytics.tsx';
import { DeleteLinks, GetLink, LinkAnalytics, LiveClicks, SetStatus, UpdateLink } from '../ops.ts';
import { navigate } from '../router.ts';
import { A, CopyButton, ErrorMessage, Loading, useAsync } from '../ui.tsx';
import { shortUrl } from './links.tsx';

export function LinkPage({ id }: { id: string }) {
  const link = useAsync(() => gql(GetLink, { id }).then((r) => r.links_links_by_pk), [id]);
  const [actionError, setActionError] = useState<unknown>();
  if (link.loading && !link.data) return <Loading />;
  if (link.error !== undefined) return <ErrorMessage error={link.error} retry={link.reload} />;
  const l = link.data;
  if (!l) {
    return (
      <main id="main">
        <h1>Link not found</h1>
        <p>
          It may have been deleted. <A href="/">Back to your links</A>
        </p>
      </main>
    );
  }
  const url = shortUrl(l.code);
  const act = async (fn: () => Promise<unknown>) => {
    setActionError(undefined);
    try {
      await fn();
    } catch (err) {
      setActionError(err);
    }
  };
  return (
    <main id="main">
      <div class="title-row">
        <h1>{l.title || `/${l.code}`}</h1>
        <div class="actions">
          <A href={`/links/${l.id}/edit`} class="button">
            Edit
          </A>
          <button type="button" onClick={() => act(async () => (await gql(SetStatus, { ids: [l.id], status: l.status === 'archived' ? 'active' : 'archived' }), link.reload()))}>
            {l.status === 'archived' ? 'Restore' : 'Archive'}
          </button>
          <button
            type="button"
            class="danger"
            onClick={() =>
              act(async () => {
                if (!confirm(`Delete /${l.code} and its analytics? This cannot be undone.`)) return;
                await gql(DeleteLinks, { ids: [l.id] });
                navigate('/');
              })
            }
          >
            Delete
          </button>
        </div>
      </div>
      {actionError !== undefined && <ErrorMessage error={actionError} />}
      {l.link_tags.length > 0 && (
        <p data-testid="link-tags">
          Tags:{' '}
          {l.link_tags.map((t, i) => (
            <span key={t.tag.id}>
              {i > 0 && ', '}
              <A href={`/?tag=${encodeURIComponent(t.tag.id)}&status=all`}>{t.tag.name}</A>
            </span>
          ))}
        </p>
      )}
      <section class="card" aria-labelledby="short-h">
        <h2 id="short-h" class="sr-only">
          Short link
        </h2>
        <p class="short">
          <a href={url} target="_blank" rel="noopener" data-testid="short-url">
            {url}
          </a>{' '}
          <CopyButton text={url} label="Copy short URL" />
          {l.status !== 'active' && <span class="badge">{l.status}</span>}
        </p>
        <p class="muted">
          → <span class="dest">{l.destination}</span>
        </p>
        <LiveCounter op={LiveClicks} variables={{ id: l.id }} count={(d) => d.links_links_by_pk?.click_count} initial={l.click_count} />
      </section>
      <div class="grid">
        <section class="card" aria-labelledby="qr-h">
          <h2 id="qr-h">QR code</h2>
          <img src={`/${l.code}/qr.svg`} alt={`QR code for ${url}`} width={160} height={160} />
          <p>
            <a href={`/${l.code}/qr.svg`} download={`${l.code}.svg`}>
              Download SVG
            </a>{' '}
            · <a href={`/${l.code}/qr.png`} download={`${l.code}.png`}>Download PNG</a>
          </p>
        </section>
        <ImageCard linkId={l.id} assetId={l.image_asset_id} onChange={link.reload} />
      </div>
      <Analytics id={l.id} />
    </main>
  );
}

function ImageCard({ linkId, assetId, onChange }: { linkId: string; assetId: string | null; onChange: () => void }) {
  const preview = useAsync(async () => (assetId ? assetUrl(assetId).catch(() => undefined) : undefined), [assetId]);
  const [progress, setProgress] = useState<number>();
  const [error, setError] = useState<unknown>();
  const input = useRef<HTMLInputElement>(null);
  return (
    <section class="card" aria-labelledby="img-h">
      <h2 id="img-h">Preview image</h2>
      {preview.data ? <img class="preview" src={preview.data} alt="The link's preview image" /> : <p class="muted">No image yet.</p>}
      <label for="image-file">Upload an image (PNG, JPEG, GIF, WebP)</label>
      <input
        id="image-file"
        ref={input}
        type="file"
        accept="image/png,image/jpeg,image/gif,image/webp"
        onChange={async () => {
          const file = input.current?.files?.[0];
          if (!file) return;
          setError(undefined);
          setProgress(0);
          try {
            const asset = await uploadImage(file, setProgress);
            await gql(UpdateLink, { id: linkId, set: { image_asset_id: asset.id } });
            onChange();
          } catch (err) {
            setError(err);
          } finally {
            if (input.current) input.current.value = '';
          }
        }}
      />
      {progress !== undefined && (
        <div class="progress-row">
          <progress id="upload-progress" max={1} value={progress} aria-label="Upload progress" data-testid="upload-progress" />
          <span role="status">{progress >= 1 ? 'Uploaded' : `${Math.round(progress * 100)} %`}</span>
        </div>
      )}
      {error !== undefined && <ErrorMessage error={error} />}
    </section>
  );
}

function Analytics({ id }: { id: string }) {
  return (
    <AnalyticsPanel load={(v) => gql(LinkAnalytics, { ...v, link: id })} deps={[id]} heading="h2" empty={<p>No clicks in this range yet. Share the short link; clicks appear here within seconds (bots are not counted).</p>} />
  );
}
