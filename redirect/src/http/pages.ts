/** Small self-contained HTML pages. Every interpolated value goes through escapeHtml. */
const ESC: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ESC[c]!);
}

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><meta name="robots" content="noindex"><title>${escapeHtml(title)}</title><style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#222}code{word-break:break-all}input,button{font-size:1rem;padding:.4rem}</style></head><body>${body}</body></html>`;
}

export const notFoundPage = page('Link not found', '<h1>Link not found</h1><p>This short link does not exist or is no longer active.</p>');

export function gonePage(reason: 'expired' | 'click_limit'): string {
  const why = reason === 'expired' ? 'This link has expired.' : 'This link has reached its click limit.';
  return page('Link unavailable', `<h1>Link unavailable</h1><p>${why}</p>`);
}

export function passwordPage(code: string, failed: boolean): string {
  return page(
    'Password required',
    `<h1>Password required</h1>${failed ? '<p role="alert">Wrong password, try again.</p>' : ''}` +
      `<form method="post" action="/${escapeHtml(code)}"><label>Password <input type="password" name="password" autofocus required autocomplete="current-password"></label> <button type="submit">Continue</button></form>`,
  );
}

export function lockedPage(retryAfterS: number): string {
  const wait = retryAfterS >= 120 ? `${Math.ceil(retryAfterS / 60)} minutes` : `${retryAfterS} seconds`;
  return page('Too many attempts', `<h1>Too many attempts</h1><p role="alert">Too many wrong passwords. Try again in ${wait}.</p>`);
}

/**
 * A public media object's URL: media's layout (media-service/src/modules/assets/policy.ts publicUrl),
 * each key segment percent-encoded (RFC 3986 §3.3). Public assets are served from the media public
 * base (a CDN / bucket custom domain), never from the page the image came from.
 */
export function mediaPublicUrl(baseUrl: string, key: string): string {
  return `${baseUrl.replace(/\/+$/, '')}/${key.split('/').map(encodeURIComponent).join('/')}`;
}

export function previewPage(p: {
  code: string;
  shortUrl: string;
  destination: string | null;
  title: string | null;
  description?: string | null;
  imageUrl?: string | null;
  createdAt: string;
}): string {
  const dest = p.destination
    ? `<p>Goes to <code>${escapeHtml(p.destination)}</code></p><p><a href="${escapeHtml(p.destination)}" rel="noopener noreferrer nofollow">Continue to the destination</a></p>`
    : '<p>The destination is protected by a password.</p>';
  // The image is the stored asset (link previews, issue 15 §4); alt is empty: the title says it all.
  const image = p.imageUrl ? `<p><img src="${escapeHtml(p.imageUrl)}" alt="" style="max-width:100%;height:auto" referrerpolicy="no-referrer"></p>` : '';
  const description = p.description ? `<p>${escapeHtml(p.description)}</p>` : '';
  return page(
    `Preview of ${p.code}`,
    `<h1>${escapeHtml(p.title ?? p.shortUrl)}</h1>${image}${description}<p>Short link <code>${escapeHtml(p.shortUrl)}</code>, created ${escapeHtml(p.createdAt.slice(0, 10))}</p>${dest}`,
  );
}
