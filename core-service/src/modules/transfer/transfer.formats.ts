import type { Readable } from 'node:stream';
import { parse as parseCsv } from 'csv-parse';

/**
 * Import sources and the shapes they come in. Each peer's shape is the one its own docs or source
 * define, reproduced by the committed samples in test/transfer/fixtures/ (README there cites each):
 * - csv: a header row naming the columns (generic, Shlink's CSV import shape and our own export).
 * - bitly: the Bitly API v4 `GET /v4/groups/{group}/bitlinks` body (`{"links": [BitlinkBody]}`).
 * - kutt: the Kutt API v2 `GET /api/v2/links` body (`{"data": [link], "total", ...}`).
 * - shlink: the Shlink REST API v3 `GET /rest/v3/short-urls` body (`{"shortUrls": {"data": [...]}}`).
 * - yourls: the `yourls_url` table as CSV (keyword, url, title, timestamp, ip, clicks), which is what
 *   YOURLS' export plugins and a database dump give.
 * - dub: the Dub API `GET /links` body (an array of Link objects).
 */
export const IMPORT_FORMATS = ['csv', 'bitly', 'kutt', 'shlink', 'yourls', 'dub'] as const;
export type ImportFormat = (typeof IMPORT_FORMATS)[number];

/** One link as read from a file, before the database has judged it. */
export interface SourceRow {
  /** CSV: the line the record ends on (the header is line 1); JSON: the item's 1-based position. */
  line: number;
  code?: string;
  destination: string;
  title?: string;
  description?: string;
  tags: string[];
  expires_at?: string;
  created_at?: string;
}

export interface Problem {
  line: number;
  code: string;
  field?: string;
  message: string;
}

export type Parsed = { row: SourceRow; problem?: undefined } | { problem: Problem; row?: undefined };

/** The file as a whole cannot be read (nothing is imported). */
export class FileError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const key = (h: string) => h.toLowerCase().replace(/[^a-z0-9]/g, '');

/** Column names accepted by the generic CSV import, compared without case, spaces or punctuation. */
const CSV_COLUMNS: Record<keyof Omit<SourceRow, 'line'> | 'shortUrl', string[]> = {
  destination: ['destination', 'url', 'longurl', 'target', 'originalurl', 'destinationurl'],
  code: ['code', 'shortcode', 'slug', 'key', 'keyword', 'alias', 'address', 'backhalf'],
  shortUrl: ['shorturl', 'shortlink', 'link', 'bitlink'],
  title: ['title', 'name'],
  description: ['description', 'comments', 'notes'],
  tags: ['tags', 'tag'],
  expires_at: ['expiresat', 'expires', 'expiry', 'expiration', 'validuntil', 'expirein'],
  created_at: ['createdat', 'created', 'datecreated', 'timestamp', 'creationdate', 'createddate'],
};

/** YOURLS' table columns (yourls_url: keyword, url, title, timestamp, ip, clicks). */
const YOURLS_REQUIRED = ['keyword', 'url'];

/**
 * Timestamps as peers write them: ISO 8601 with an offset (Shlink, Dub, Kutt), Bitly's `+0000`
 * offsets without a colon, and MySQL's `YYYY-MM-DD HH:MM:SS` (YOURLS), read as UTC.
 */
export function parseTimestamp(s: string): string | undefined {
  let v = s.trim();
  if (/^\d{4}-\d{2}-\d{2}$/.test(v)) v += 'T00:00:00Z';
  else if (/^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(v)) v = `${v.replace(' ', 'T')}Z`;
  else if (/^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([+-]\d{2}:?\d{2}|Z)$/i.test(v)) v = v.replace(' ', 'T').replace(/([+-]\d{2})(\d{2})$/, '$1:$2');
  else return undefined;
  const t = Date.parse(v);
  if (Number.isNaN(t)) return undefined;
  const year = new Date(t).getUTCFullYear();
  return year >= 1970 && year <= 9999 ? new Date(t).toISOString() : undefined;
}

/** The last path segment of a short URL (`https://bit.ly/abc` or `bit.ly/abc` → `abc`). */
export function codeFromShortUrl(s: string): string | undefined {
  const m = /^(?:[a-z][a-z0-9+.-]*:\/\/)?[^/?#\s]+\/([^/?#\s]+)\/?(?:[?#].*)?$/i.exec(s.trim());
  return m?.[1] ? decodeURIComponent(m[1]) : undefined;
}

const text = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined);

function splitTags(s: string | undefined): string[] {
  if (!s) return [];
  const parts = s.includes('|') ? s.split('|') : s.split(',');
  return [...new Set(parts.map((t) => t.trim()).filter(Boolean))];
}

/**
 * Builds a row from named fields, or a problem. Dates that do not parse and a missing destination
 * are the row's problems; what the database refuses (URL shape, code format, reserved words,
 * lengths) is judged there (transfer.import_links), so both paths agree.
 */
function toRow(line: number, f: { code?: string; destination?: string; title?: string; description?: string; tags: string[]; expires?: string; created?: string }): Parsed {
  if (!f.destination) return { problem: { line, code: 'MISSING_DESTINATION', field: 'destination', message: 'no destination URL' } };
  const row: SourceRow = { line, destination: f.destination, tags: f.tags };
  if (f.code) row.code = f.code;
  if (f.title) row.title = f.title;
  if (f.description) row.description = f.description;
  for (const [field, value] of [
    ['expires_at', f.expires],
    ['created_at', f.created],
  ] as const) {
    if (!value) continue;
    const ts = parseTimestamp(value);
    if (!ts) return { problem: { line, code: 'INVALID_DATE', field, message: `${field}: not a date: ${value.slice(0, 60)}` } };
    row[field] = ts;
  }
  return { row };
}

export async function* parseImport(format: ImportFormat, input: Readable): AsyncGenerator<Parsed> {
  if (format === 'csv' || format === 'yourls') yield* parseCsvSource(format, input);
  else yield* parseJsonSource(format, input);
}

async function* parseCsvSource(format: 'csv' | 'yourls', input: Readable): AsyncGenerator<Parsed> {
  const skipped: Problem[] = [];
  const parser = input.pipe(
    parseCsv({ bom: true, relax_column_count: true, skip_empty_lines: true, info: true, skip_records_with_error: true, max_record_size: 64 * 1024 }),
  );
  // A record csv-parse cannot read (an unclosed quote, a stray quote inside a field) is skipped
  // and reported by its line; the records around it still import.
  let lastSkipped = -1;
  parser.on('skip', (err: Error & { lines?: number }) => {
    // One bad record may raise several errors: it is one problem.
    if (err.lines === lastSkipped) return;
    lastSkipped = err.lines ?? 0;
    skipped.push({ line: err.lines ?? 0, code: 'MALFORMED_ROW', message: `unreadable CSV record: ${err.message}` });
  });
  let columns: Map<string, number> | undefined;
  let width = 0;
  for await (const item of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
    while (skipped.length) yield { problem: skipped.shift()! };
    const { record, info } = item;
    if (!columns) {
      columns = new Map(record.map((h, i) => [key(h), i] as const));
      width = record.length;
      if (format === 'yourls') {
        const missing = YOURLS_REQUIRED.filter((c) => !columns!.has(c));
        if (missing.length) throw new FileError('MISSING_COLUMNS', `a YOURLS file needs the columns ${YOURLS_REQUIRED.join(', ')}; missing: ${missing.join(', ')}`);
      } else if (!CSV_COLUMNS.destination.some((c) => columns!.has(c))) {
        throw new FileError('MISSING_COLUMNS', `the header row names no destination column (one of: ${CSV_COLUMNS.destination.join(', ')})`);
      }
      continue;
    }
    if (record.length !== width) {
      yield { problem: { line: info.lines, code: 'COLUMN_COUNT', message: `expected ${width} fields as in the header, found ${record.length}` } };
      continue;
    }
    const cols = columns;
    const get = (names: string[]) => {
      for (const n of names) {
        const i = cols.get(n);
        if (i !== undefined) return text(record[i]);
      }
      return undefined;
    };
    const shortUrl = get(CSV_COLUMNS.shortUrl);
    yield toRow(info.lines, {
      destination: get(CSV_COLUMNS.destination),
      code: get(CSV_COLUMNS.code) ?? (shortUrl ? codeFromShortUrl(shortUrl) : undefined),
      title: get(CSV_COLUMNS.title),
      description: get(CSV_COLUMNS.description),
      tags: splitTags(get(CSV_COLUMNS.tags)),
      expires: get(CSV_COLUMNS.expires_at),
      created: get(CSV_COLUMNS.created_at),
    });
  }
  while (skipped.length) yield { problem: skipped.shift()! };
  if (!columns) throw new FileError('EMPTY_FILE', 'the file has no header row');
}

async function readAll(input: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of input) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/^\uFEFF/, '');
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function items(format: Exclude<ImportFormat, 'csv' | 'yourls'>, doc: unknown): unknown[] {
  if (Array.isArray(doc)) return doc;
  if (isObj(doc)) {
    const inner = format === 'bitly' ? doc.links : format === 'kutt' ? doc.data : format === 'shlink' ? (isObj(doc.shortUrls) ? doc.shortUrls.data : doc.data) : doc.links;
    if (Array.isArray(inner)) return inner;
  }
  const expected = { bitly: '{"links": [...]}', kutt: '{"data": [...]}', shlink: '{"shortUrls": {"data": [...]}}', dub: 'an array of links' }[format];
  throw new FileError('UNEXPECTED_SHAPE', `not a ${format} export: expected ${expected}`);
}

function tagNames(v: unknown): string[] {
  if (!Array.isArray(v)) return [];
  return [...new Set(v.map((t) => (typeof t === 'string' ? t : isObj(t) ? text(t.name) : undefined)).filter((t): t is string => !!t?.trim()).map((t) => t.trim()))];
}

/** Field mapping per peer, from each one's documented link object (fixtures README). */
function fromJson(format: Exclude<ImportFormat, 'csv' | 'yourls'>, line: number, o: Obj): Parsed {
  switch (format) {
    case 'bitly': {
      // `id` is the bitlink without scheme ("bit.ly/abc"); `link` the same with it.
      const id = text(o.id) ?? text(o.link);
      return toRow(line, { destination: text(o.long_url), code: id ? codeFromShortUrl(id.includes('/') ? id : `x/${id}`) : undefined, title: text(o.title), tags: tagNames(o.tags), created: text(o.created_at), expires: text(o.expiration_at) });
    }
    case 'kutt':
      return toRow(line, { destination: text(o.target), code: text(o.address), description: text(o.description), tags: [], created: text(o.created_at), expires: text(o.expire_in) });
    case 'shlink': {
      const meta = isObj(o.meta) ? o.meta : {};
      return toRow(line, { destination: text(o.longUrl), code: text(o.shortCode), title: text(o.title), tags: tagNames(o.tags), created: text(o.dateCreated), expires: text(meta.validUntil) });
    }
    case 'dub':
      return toRow(line, { destination: text(o.url), code: text(o.key), title: text(o.title), description: text(o.description), tags: tagNames(o.tags), created: text(o.createdAt), expires: text(o.expiresAt) });
  }
}

async function* parseJsonSource(format: Exclude<ImportFormat, 'csv' | 'yourls'>, input: Readable): AsyncGenerator<Parsed> {
  let doc: unknown;
  try {
    doc = JSON.parse(await readAll(input));
  } catch (err) {
    throw new FileError('MALFORMED_JSON', `not JSON: ${(err as Error).message}`);
  }
  let line = 0;
  for (const item of items(format, doc)) {
    line++;
    if (!isObj(item)) yield { problem: { line, code: 'NOT_AN_OBJECT', message: `item ${line} is not an object` } };
    else yield fromJson(format, line, item);
  }
}
