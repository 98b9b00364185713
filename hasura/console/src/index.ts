import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import zlib from 'node:zlib';

/**
 * The links GraphQL explorer: GraphiQL 3 with React 18, its scripts and styles read from the npm
 * packages this workspace depends on and inlined into one HTML page, so it loads with no CDN (an
 * offline or locked-down network, a strict CSP without third-party hosts). Served by core at
 * `/v1/core/console` (published at `/v1/links/console`) and by the engine at `/console`.
 */
const require = createRequire(import.meta.url);
const template = path.join(import.meta.dirname, 'index.html');

export interface ConsolePage {
  html: Buffer;
  gzip: Buffer;
  etag: string;
}

// Inline <script>/<style> bodies end at the first `</script`/`</style`, whatever the JavaScript
// meant by it (HTML spec, "script data state"); `<!--` opens the legacy escaped state. Escaping the
// slash or the bang changes no JavaScript string, regex or comment that contains them.
const inlineScript = (js: string) => `<script>${js.replace(/<\/(script)/gi, '<\\/$1').replace(/<!--/g, '<\\!--')}</script>`;
const inlineStyle = (css: string) => `<style>${css.replace(/<\/(style)/gi, '<\\/$1')}</style>`;

/** A file of a dependency by its path in the package (their `exports` do not list the UMD builds). */
function read(spec: string): string {
  const [scopeOrName, ...rest] = spec.split('/');
  const name = scopeOrName!;
  let dir = path.dirname(require.resolve(name));
  while (!fs.existsSync(path.join(dir, 'package.json')) || path.basename(dir) !== name) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`cannot locate the ${name} package`);
    dir = up;
  }
  return fs.readFileSync(path.join(dir, ...rest), 'utf8');
}

let page: ConsolePage | undefined;

/** Built once per process on first use (about 4 MB of HTML, 1 MB gzipped). */
export function consolePage(): ConsolePage {
  if (page) return page;
  const html = fs
    .readFileSync(template, 'utf8')
    .replace('<!-- graphiql.css -->', () => inlineStyle(read('graphiql/graphiql.min.css')))
    .replace(
      '<!-- scripts -->',
      () =>
        [read('react/umd/react.production.min.js'), read('react-dom/umd/react-dom.production.min.js'), read('graphiql/graphiql.min.js')]
          .map(inlineScript)
          .join('\n'),
    );
  const buf = Buffer.from(html);
  const gzip = zlib.gzipSync(buf, { level: 6 });
  const etag = `"${crypto.createHash('sha256').update(buf).digest('base64url').slice(0, 22)}"`;
  page = { html: buf, gzip, etag };
  return page;
}
