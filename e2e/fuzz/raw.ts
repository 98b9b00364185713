import net from 'node:net';

/**
 * A raw HTTP/1.1 client on a plain socket. Why not fetch or node:http: both refuse or rewrite the
 * inputs the fuzzer exists to send — fetch resolves `..` and `%2e%2e` segments (WHATWG URL
 * parsing), both reject header values with control or non-Latin-1 bytes, and neither can send a
 * header twice in a chosen order or a Content-Length that disagrees with the body. Here every byte
 * of the request is ours; one request per connection (`Connection: close`), so the answer is
 * whatever arrives before the server closes.
 */

export interface RawRequest {
  method: string;
  /** Sent as is (bytes): percent-encoding, `..`, unicode, lone surrogates are the caller's. */
  path: string | Buffer;
  headers: Array<[string, string | Buffer]>;
  body?: Buffer;
  /** Default true: adds Host, Content-Length (when a body is given) and Connection: close. */
  autoHeaders?: boolean;
}

export interface RawResponse {
  status: number;
  headers: Record<string, string[]>;
  body: Buffer;
}

export type RawResult = { kind: 'response'; res: RawResponse; ms: number } | { kind: 'no-answer'; reason: string; ms: number; wroteAll: boolean };

export function encodeRequest(req: RawRequest, host: string): Buffer {
  const lines: Buffer[] = [];
  const path = typeof req.path === 'string' ? Buffer.from(req.path, 'utf8') : req.path;
  lines.push(Buffer.concat([Buffer.from(`${req.method} `, 'latin1'), path, Buffer.from(' HTTP/1.1\r\n', 'latin1')]));
  const names = new Set(req.headers.map(([k]) => k.toLowerCase()));
  const auto: Array<[string, string]> = [];
  if (req.autoHeaders !== false) {
    if (!names.has('host')) auto.push(['Host', host]);
    if (req.body && !names.has('content-length') && !names.has('transfer-encoding')) auto.push(['Content-Length', String(req.body.length)]);
    if (!names.has('connection')) auto.push(['Connection', 'close']);
  }
  for (const [k, v] of [...auto, ...req.headers]) {
    lines.push(Buffer.concat([Buffer.from(`${k}: `, 'latin1'), typeof v === 'string' ? Buffer.from(v, 'utf8') : v, Buffer.from('\r\n', 'latin1')]));
  }
  lines.push(Buffer.from('\r\n', 'latin1'));
  if (req.body) lines.push(req.body);
  return Buffer.concat(lines);
}

/** Parses the first final (non-1xx) response in `buf`; undefined when the head is incomplete. */
export function parseResponse(buf: Buffer): RawResponse | undefined {
  let rest = buf;
  for (;;) {
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0) return undefined;
    const head = rest.subarray(0, end).toString('latin1').split('\r\n');
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(head[0] ?? '');
    if (!m) return undefined;
    const status = Number(m[1]);
    const headers: Record<string, string[]> = {};
    for (const line of head.slice(1)) {
      const i = line.indexOf(':');
      if (i <= 0) continue;
      const k = line.slice(0, i).trim().toLowerCase();
      (headers[k] ??= []).push(line.slice(i + 1).trim());
    }
    let body = rest.subarray(end + 4);
    if (status >= 100 && status < 200) {
      rest = body;
      continue;
    }
    if ((headers['transfer-encoding']?.[0] ?? '').toLowerCase().includes('chunked')) body = dechunk(body);
    else if (headers['content-length']?.[0] !== undefined) body = body.subarray(0, Number(headers['content-length'][0]));
    return { status, headers, body };
  }
}

function dechunk(buf: Buffer): Buffer {
  const out: Buffer[] = [];
  let i = 0;
  while (i < buf.length) {
    const eol = buf.indexOf('\r\n', i);
    if (eol < 0) break;
    const size = parseInt(buf.subarray(i, eol).toString('latin1'), 16);
    if (!Number.isFinite(size) || size === 0) break;
    out.push(buf.subarray(eol + 2, eol + 2 + size));
    i = eol + 2 + size + 2;
  }
  return Buffer.concat(out);
}

/**
 * Sends one request and waits for the server to answer and close. A connection closed or reset
 * before a complete response head is a `no-answer` (with whether the whole request had been
 * written: a server may refuse a huge body early, and an answer lost to the reset is still a
 * finding, issue 11 §7).
 */
export function sendRaw(host: string, port: number, req: RawRequest, timeoutMs: number): Promise<RawResult> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let wroteAll = false;
    let done = false;
    const sock = net.connect({ host, port });
    const finish = (reason: string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      const res = parseResponse(Buffer.concat(chunks));
      const ms = performance.now() - t0;
      resolve(res ? { kind: 'response', res, ms } : { kind: 'no-answer', reason, ms, wroteAll });
    };
    const timer = setTimeout(() => finish(`no answer within ${timeoutMs} ms`), timeoutMs);
    sock.on('data', (d: Buffer) => chunks.push(d));
    sock.on('end', () => finish('closed without an answer'));
    sock.on('close', () => finish('closed without an answer'));
    sock.on('error', (err: NodeJS.ErrnoException) => {
      // EPIPE/ECONNRESET while still writing: the answer may already be in, or still coming.
      if (!wroteAll && (err.code === 'EPIPE' || err.code === 'ECONNRESET')) {
        setTimeout(() => finish(`${err.code} while sending the request`), 50);
        return;
      }
      finish(err.code ?? err.message);
    });
    sock.once('connect', () => {
      // The callback also runs on a failed write (with the error): only a clean one means sent.
      sock.write(encodeRequest(req, `${host}:${port}`), (err) => {
        if (!err) wroteAll = true;
      });
    });
  });
}
