import { createHash } from 'node:crypto';
import http from 'node:http';
import { S3Error, accessDenied, errorXml, newRequestId } from './errors.ts';
import { AUTH_QUERY_PARAMS, STREAMING_PAYLOAD, UNSIGNED_PAYLOAD, verifySigV4, type Credentials, type Query } from './sigv4.ts';

/**
 * The access rules of a private bucket with a public-read prefix, in front of @20minutes/s3rver
 * (which serves anyone who sends no signature: it has no ACLs or bucket policies):
 * - every request carries a valid SigV4 signature (header or presigned query) made with the
 *   configured credentials — except CORS preflights (OPTIONS is never authenticated in S3, "CORS
 *   configuration") and anonymous GET/HEAD of an object under a public prefix (the effect of an S3
 *   bucket policy granting s3:GetObject on `arn:aws:s3:::bucket/public/*`; R2 serves its public
 *   bucket access on a separate domain and refuses unsigned S3-API calls altogether);
 * - conditional writes (S3 "conditional writes", R2 "conditional operations"): `If-None-Match: *`
 *   on an existing key → 412, `If-Match` against the current ETag → 412 (404 when missing);
 *   serialised per key so two create-only PUTs cannot both win;
 * - payload integrity: a hex x-amz-content-sha256, x-amz-checksum-sha256 and Content-MD5 are checked
 *   against the body (XAmzContentSHA256Mismatch / BadDigest), as S3 and R2 do;
 * - keys and buckets that s3rver's filesystem store would resolve outside its directory (`.`/`..`
 *   segments, NUL) are refused — S3 treats them as plain names, s3rver as paths.
 * Verified requests go on to s3rver without their signature (s3rver's own V4 check has known
 * deviations — docs/research/storage.md §4.2 — and only knows its fixed key).
 */
export interface FrontOptions {
  upstreamPort: number;
  credentials: Credentials;
  regions: string[];
  publicReadPrefixes: string[];
  now: () => number;
  /** Bodies whose digest must be checked are held in memory up to this size. */
  maxVerifiedBodyBytes: number;
}

interface Target {
  bucket?: string;
  key?: string;
}

/** GetObject's response-* overrides (S3 API GetObject "URI Request Parameters"). */
const RESPONSE_OVERRIDES: Record<string, string> = {
  'response-content-type': 'content-type',
  'response-content-language': 'content-language',
  'response-expires': 'expires',
  'response-cache-control': 'cache-control',
  'response-content-disposition': 'content-disposition',
  'response-content-encoding': 'content-encoding',
};

/** Subresources and operations an anonymous public read may not use (they are not s3:GetObject). */
const ANONYMOUS_QUERY_OK = new Set(['x-id', 'partNumber', 'versionId']);

function decode(s: string, what: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new S3Error(400, 'InvalidURI', `Couldn't parse the specified URI (${what}).`);
  }
}

/** Query as S3 reads it: `+` is a literal plus (SigV4 clients encode spaces as %20). */
export function parseQuery(raw: string): { query: Query; pairs: Array<[string, string, string]> } {
  const query: Query = {};
  const pairs: Array<[string, string, string]> = [];
  for (const part of raw.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const name = decode(eq < 0 ? part : part.slice(0, eq), 'query');
    const value = decode(eq < 0 ? '' : part.slice(eq + 1), 'query');
    pairs.push([name, value, part]);
    const prev = query[name];
    query[name] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value];
  }
  return { query, pairs };
}

function unsafeName(s: string): boolean {
  return s.includes('\0') || s.split('/').some((seg) => seg === '.' || seg === '..');
}

export function parseTarget(rawPath: string): Target {
  if (!rawPath.startsWith('/')) throw new S3Error(400, 'InvalidURI', "Couldn't parse the specified URI.");
  const rest = rawPath.slice(1);
  const slash = rest.indexOf('/');
  const bucket = decode(slash < 0 ? rest : rest.slice(0, slash), 'bucket');
  const key = slash < 0 ? '' : decode(rest.slice(slash + 1), 'key');
  if (bucket === '') return {};
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket) || bucket.includes('..')) {
    throw new S3Error(400, 'InvalidBucketName', 'The specified bucket is not valid.', { BucketName: bucket });
  }
  if (unsafeName(key)) {
    throw new S3Error(400, 'InvalidArgument', 'This local S3 refuses object keys with "." or ".." path segments or NUL (its store maps keys to files).', {
      ArgumentName: 'key',
    });
  }
  return key === '' ? { bucket } : { bucket, key };
}

const stripQuotes = (etag: string) => etag.trim().replace(/^W\//, '').replace(/^"|"$/g, '');

/** Serialises async work per key: conditional checks and the write they guard run as one. */
class KeyLocks {
  private readonly tails = new Map<string, Promise<unknown>>();
  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => {});
    this.tails.set(key, tail);
    try {
      return await run;
    } finally {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}

export function createFront(o: FrontOptions): http.Server {
  const locks = new KeyLocks();

  /** A request to s3rver, answered in full (HEAD for existence, OPTIONS for CORS headers). */
  const ask = (method: string, path: string, headers: http.OutgoingHttpHeaders = {}) =>
    new Promise<http.IncomingMessage>((resolve, reject) => {
      const r = http.request({ host: '127.0.0.1', port: o.upstreamPort, method, path, headers }, (res) => {
        res.resume();
        res.on('end', () => resolve(res));
        res.on('error', reject);
      });
      r.on('error', reject);
      r.end();
    });

  async function readBody(req: http.IncomingMessage): Promise<Buffer> {
    const chunks: Buffer[] = [];
    let n = 0;
    for await (const c of req as AsyncIterable<Buffer>) {
      n += c.length;
      if (n > o.maxVerifiedBodyBytes) {
        throw new S3Error(400, 'EntityTooLarge', `This local S3 holds bodies it must verify in memory, up to ${o.maxVerifiedBodyBytes} bytes.`);
      }
      chunks.push(c);
    }
    return Buffer.concat(chunks);
  }

  function checkDigests(req: http.IncomingMessage, body: Buffer, payloadHash: string | undefined): void {
    if (payloadHash && /^[0-9a-fA-F]{64}$/.test(payloadHash)) {
      const actual = createHash('sha256').update(body).digest('hex');
      if (actual !== payloadHash.toLowerCase()) {
        throw new S3Error(400, 'XAmzContentSHA256Mismatch', "The provided 'x-amz-content-sha256' header does not match what was computed.", {
          ClientComputedContentSHA256: payloadHash,
          S3ComputedContentSHA256: actual,
        });
      }
    }
    const sha = req.headers['x-amz-checksum-sha256'];
    if (typeof sha === 'string' && createHash('sha256').update(body).digest('base64') !== sha) {
      throw new S3Error(400, 'BadDigest', 'The SHA256 you specified did not match the calculated checksum.');
    }
    const md5 = req.headers['content-md5'];
    if (typeof md5 === 'string') {
      if (!/^[A-Za-z0-9+/]{22}==$/.test(md5)) throw new S3Error(400, 'InvalidDigest', 'The Content-MD5 you specified is not valid.');
      if (createHash('md5').update(body).digest('base64') !== md5) throw new S3Error(400, 'BadDigest', 'The Content-MD5 you specified did not match what we received.');
    }
  }

  /** S3 conditional writes, checked against what the key holds now (under the key's lock). */
  async function checkPreconditions(req: http.IncomingMessage, rawPath: string): Promise<void> {
    const ifNoneMatch = req.headers['if-none-match'];
    const ifMatch = req.headers['if-match'];
    if (ifNoneMatch === undefined && ifMatch === undefined) return;
    if (ifNoneMatch !== undefined && ifNoneMatch.trim() !== '*') {
      // Not a gap of ours: S3's PutObject accepts only `If-None-Match: *` and answers any other
      // value with exactly this 501 NotImplemented (AWS S3 API reference, PutObject, "If-None-Match"),
      // so the emulator refuses as S3 does.
      throw new S3Error(501, 'NotImplemented', 'A header you provided implies functionality that is not implemented', { Header: 'If-None-Match' });
    }
    const head = await ask('HEAD', rawPath);
    const exists = head.statusCode === 200;
    if (head.statusCode !== 200 && head.statusCode !== 404) throw new S3Error(500, 'InternalError', 'We encountered an internal error. Please try again.');
    if (ifNoneMatch !== undefined && exists) {
      throw new S3Error(412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', { Condition: 'If-None-Match' });
    }
    if (ifMatch !== undefined) {
      if (!exists) throw new S3Error(404, 'NoSuchKey', 'The specified key does not exist.');
      const current = stripQuotes(String(head.headers.etag ?? ''));
      const wanted = ifMatch.split(',').map(stripQuotes);
      if (!wanted.includes('*') && !wanted.includes(current)) {
        throw new S3Error(412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', { Condition: 'If-Match' });
      }
    }
  }

  /** CORS headers s3rver's rules give this origin, so a browser can read a refusal too. */
  async function corsFor(req: http.IncomingMessage, rawPath: string, t: Target): Promise<Record<string, string>> {
    const origin = req.headers.origin;
    if (!origin || !t.bucket || !t.key) return {};
    try {
      const pre = await ask('OPTIONS', rawPath, { origin, 'access-control-request-method': req.method ?? 'GET' });
      const out: Record<string, string> = {};
      for (const h of ['access-control-allow-origin', 'access-control-allow-credentials', 'access-control-expose-headers', 'vary']) {
        const v = pre.headers[h];
        if (typeof v === 'string') out[h] = v;
      }
      return out;
    } catch {
      return {};
    }
  }

  function forward(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    path: string,
    body: Buffer | undefined,
    dropHeaders: string[],
    overrides: Record<string, string> = {},
  ): Promise<void> {
    return new Promise((resolve) => {
      const headers: http.OutgoingHttpHeaders = { ...req.headers };
      for (const h of ['authorization', ...dropHeaders]) delete headers[h];
      if (body) {
        delete headers['transfer-encoding'];
        headers['content-length'] = String(body.length);
      }
      const up = http.request({ host: '127.0.0.1', port: o.upstreamPort, method: req.method, path, headers }, (upRes) => {
        const status = upRes.statusCode ?? 502;
        res.writeHead(status, status >= 200 && status < 300 ? { ...upRes.headers, ...overrides } : upRes.headers);
        upRes.pipe(res);
        upRes.on('end', resolve);
        upRes.on('error', () => {
          res.destroy();
          resolve();
        });
      });
      up.on('error', () => {
        if (!res.headersSent) {
          const id = newRequestId();
          const err = new S3Error(500, 'InternalError', 'We encountered an internal error. Please try again.');
          res.writeHead(500, { 'content-type': 'application/xml', 'x-amz-request-id': id }).end(req.method === 'HEAD' ? undefined : errorXml(err, id));
        } else res.destroy();
        resolve();
      });
      res.on('close', () => {
        if (!res.writableFinished) up.destroy();
      });
      if (body) up.end(body);
      else req.pipe(up);
    });
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const rawPath = q < 0 ? url : url.slice(0, q);
    const method = req.method ?? 'GET';
    let target: Target = {};
    try {
      target = parseTarget(rawPath);
      const { query, pairs } = parseQuery(q < 0 ? '' : url.slice(q + 1));
      // A preflight is answered by the bucket's CORS rules alone (s3rver's cors middleware).
      if (method === 'OPTIONS') return await forward(req, res, url, undefined, []);

      const auth = await verifySigV4({ method, rawPath, query, headers: req.headersDistinct }, { credentials: o.credentials, regions: o.regions, now: o.now() });
      if (auth.kind === 'anonymous') {
        const publicRead =
          (method === 'GET' || method === 'HEAD') &&
          target.key !== undefined &&
          o.publicReadPrefixes.some((p) => target.key!.startsWith(p)) &&
          Object.keys(query).every((k) => ANONYMOUS_QUERY_OK.has(k) || k.startsWith('response-'));
        if (!publicRead) throw accessDenied();
        // S3: "Request specific response headers cannot be used for anonymous GET requests."
        if (Object.keys(query).some((k) => k.startsWith('response-'))) {
          throw new S3Error(400, 'InvalidRequest', 'Request specific response headers cannot be used for anonymous GET requests.');
        }
      }
      const copySource = req.headers['x-amz-copy-source'];
      if (typeof copySource === 'string' && unsafeName(decode(copySource.split('?')[0] ?? '', 'x-amz-copy-source').replace(/^\//, ''))) {
        throw new S3Error(400, 'InvalidArgument', 'Invalid copy source object key', { ArgumentName: 'x-amz-copy-source' });
      }

      // s3rver only honours response-* overrides for requests it authenticated itself, and it never
      // sees the signature: the front applies them to a successful GET/HEAD answer, as S3 does.
      const overrides: Record<string, string> = {};
      for (const [name, value] of pairs) {
        if (!name.startsWith('response-')) continue;
        const h = RESPONSE_OVERRIDES[name];
        if (!h) {
          throw new S3Error(400, 'InvalidArgument', `${name} is not in the set of overridable response headers. Please refer to the S3 API documentation for a complete list of overridable response headers.`, {
            ArgumentName: name,
          });
        }
        // A value Node cannot put in a header (CR, LF, NUL…) would otherwise throw mid-answer.
        if (/[^\t\x20-\x7e\x80-\xff]/.test(value)) throw new S3Error(400, 'InvalidArgument', `${name} has characters a header cannot carry.`, { ArgumentName: name });
        if (method === 'GET' || method === 'HEAD') overrides[h] = value;
      }
      const kept = pairs.filter(([name]) => !AUTH_QUERY_PARAMS.has(name) && !name.startsWith('response-')).map(([, , raw]) => raw);
      const path = kept.length ? `${rawPath}?${kept.join('&')}` : rawPath;
      const payloadHash = auth.kind === 'signed' ? auth.payloadHash : undefined;
      const mustHash =
        (payloadHash !== undefined && payloadHash !== UNSIGNED_PAYLOAD && payloadHash !== STREAMING_PAYLOAD && method !== 'GET' && method !== 'HEAD') ||
        req.headers['x-amz-checksum-sha256'] !== undefined ||
        req.headers['content-md5'] !== undefined;

      // PutObject and CompleteMultipartUpload are the writes that honour If-None-Match / If-Match.
      const objectWrite = target.key !== undefined && ((method === 'PUT' && !('uploadId' in query) && !('partNumber' in query) && !('tagging' in query)) || (method === 'POST' && 'uploadId' in query) || method === 'DELETE');
      const run = async () => {
        const body = mustHash ? await readBody(req) : undefined;
        if (body) checkDigests(req, body, payloadHash);
        if (method !== 'DELETE') await checkPreconditions(req, rawPath);
        // s3rver would read If-None-Match on a write as a GET precondition; it has been applied here.
        await forward(req, res, path, body, method === 'GET' || method === 'HEAD' ? [] : ['if-none-match', 'if-match'], overrides);
      };
      if (objectWrite) await locks.run(`${target.bucket}/${target.key}`, run);
      else await run();
    } catch (err) {
      const e = err instanceof S3Error ? err : new S3Error(500, 'InternalError', 'We encountered an internal error. Please try again.');
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const id = newRequestId();
      const cors = await corsFor(req, rawPath, target);
      const xml = errorXml(e, id);
      res.writeHead(e.status, { ...cors, 'content-type': 'application/xml', 'x-amz-request-id': id, ...(method === 'HEAD' ? {} : { 'content-length': Buffer.byteLength(xml) }) });
      res.end(method === 'HEAD' ? undefined : xml);
      // An unread request body would otherwise stall the connection (keep-alive) or be reset.
      req.resume();
    }
  }

  return http.createServer((req, res) => {
    void handle(req, res);
  });
}
