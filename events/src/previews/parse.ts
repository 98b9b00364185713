import { Parser } from 'htmlparser2';

/** What a page says about itself, from its <head>. */
export interface PagePreview {
  title?: string;
  description?: string;
  /** The preview image's absolute URL (og:image / twitter:image), resolved against the page URL. */
  imageUrl?: string;
}

const MAX_TITLE = 500; // links.links title CHECK
const MAX_DESCRIPTION = 2000; // links.links description CHECK

const clean = (s: string | undefined, max: number): string | undefined => {
  const t = s?.replace(/\s+/g, ' ').trim();
  return t ? [...t].slice(0, max).join('') : undefined;
};

/**
 * Open Graph (ogp.me: `<meta property="og:title" content=…>`), Twitter cards
 * (developer.x.com cards markup: `<meta name="twitter:title" content=…>`), then the plain
 * `<meta name="description">` and `<title>`, in that order of preference. htmlparser2 is forgiving
 * with broken markup and decodes entities; parsing stops at <body>, where no head metadata is.
 */
export function parsePreview(html: string, pageUrl: string): PagePreview {
  const meta = new Map<string, string>();
  let title = '';
  let inTitle = false;
  let titleSeen = false;
  let done = false;
  const parser = new Parser(
    {
      onopentag(name, attrs) {
        if (done) return;
        if (name === 'body') {
          done = true;
          parser.pause();
          return;
        }
        if (name === 'title' && !titleSeen) inTitle = true;
        if (name === 'meta') {
          const key = (attrs.property ?? attrs.name ?? '').toLowerCase().trim();
          const content = attrs.content;
          if (key && content !== undefined && !meta.has(key)) meta.set(key, content);
        }
      },
      ontext(text) {
        if (inTitle) title += text;
      },
      onclosetag(name) {
        if (name === 'title' && inTitle) {
          inTitle = false;
          titleSeen = true;
        }
      },
    },
    { decodeEntities: true, lowerCaseTags: true, lowerCaseAttributeNames: true },
  );
  parser.write(html);
  if (!done) parser.end();

  const image = meta.get('og:image:secure_url') ?? meta.get('og:image') ?? meta.get('og:image:url') ?? meta.get('twitter:image') ?? meta.get('twitter:image:src');
  let imageUrl: string | undefined;
  if (image?.trim()) {
    try {
      const u = new URL(image.trim(), pageUrl);
      if (u.protocol === 'http:' || u.protocol === 'https:') imageUrl = u.href;
    } catch {
      imageUrl = undefined;
    }
  }
  const out: PagePreview = {};
  const t = clean(meta.get('og:title') ?? meta.get('twitter:title') ?? title, MAX_TITLE);
  const d = clean(meta.get('og:description') ?? meta.get('twitter:description') ?? meta.get('description'), MAX_DESCRIPTION);
  if (t) out.title = t;
  if (d) out.description = d;
  if (imageUrl) out.imageUrl = imageUrl;
  return out;
}
