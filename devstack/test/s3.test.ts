import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { test, type TestContext } from "node:test";
import { SignatureV4 } from "@smithy/signature-v4";
import { startS3Server, type RunningS3 } from "../src/index.ts";
import { NodeSha256 } from "../src/embedded/s3/sigv4.ts";

/**
 * The local S3 refuses what R2/S3 refuse for a private bucket with a public-read prefix (issue 11
 * §6). Requests are signed by the AWS SDK's own signer (@smithy/signature-v4), independent of the
 * server's verifier, and sent over real HTTP.
 */

const BUCKET = "media";
const ORIGIN = "http://app.example.test";

interface Clock {
  now: number;
}

async function start(t: TestContext, clock?: Clock): Promise<RunningS3> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "linkport-s3-test-"));
  const s3 = await startS3Server({
    dir,
    buckets: [BUCKET],
    corsOrigins: [ORIGIN],
    ...(clock ? { now: () => clock.now } : {}),
  });
  t.after(async () => {
    await s3.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return s3;
}

const strict = (s: string) =>
  encodeURIComponent(s).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
const objectPath = (key: string) =>
  `/${BUCKET}/${key.split("/").map(strict).join("/")}`;

function signer(
  o: { secret?: string; accessKeyId?: string; region?: string } = {},
) {
  return new SignatureV4({
    service: "s3",
    region: o.region ?? "auto",
    credentials: {
      accessKeyId: o.accessKeyId ?? "S3RVER",
      secretAccessKey: o.secret ?? "S3RVER",
    },
    sha256: NodeSha256,
    uriEscapePath: false,
  });
}

interface Req {
  method: string;
  protocol: string;
  hostname: string;
  port: number;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string>;
  body?: Buffer | undefined;
}
/** SignatureV4.sign's request overload, reached without depending on @smithy/types. */
type SmithySign = (r: Req, o: { signingDate?: Date }) => Promise<Req>;
const sign = async (r: Req, o: { signingDate?: Date; secret?: string; accessKeyId?: string; region?: string } = {}): Promise<Req> => {
  const s = signer(o);
  return (s.sign as unknown as SmithySign).call(s, r, o.signingDate ? { signingDate: o.signingDate } : {});
};

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A raw HTTP request (no URL normalisation, unlike fetch), fully read. */
function send(
  s3: RunningS3,
  method: string,
  pathAndQuery: string,
  headers: Record<string, string> = {},
  body?: Buffer | string,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: "127.0.0.1", port: s3.port, method, path: pathAndQuery, headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString(),
          }),
        );
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

const code = (a: Answer) => /<Code>([^<]*)<\/Code>/.exec(a.body)?.[1];

function queryString(
  query: Record<string, string | string[] | null> | undefined,
): string {
  const parts = Object.entries(query ?? {})
    .flatMap(([k, v]) =>
      Array.isArray(v) ? v.map((x) => [k, x] as const) : [[k, v] as const],
    )
    .map(([k, v]) => (v === null ? strict(k) : `${strict(k)}=${strict(v)}`));
  return parts.length ? `?${parts.join("&")}` : "";
}

/** Header-signed request (Authorization: AWS4-HMAC-SHA256 …), as the SDK sends it. */
async function signed(
  s3: RunningS3,
  method: string,
  p: string,
  o: {
    query?: Record<string, string>;
    headers?: Record<string, string>;
    body?: Buffer | string;
    secret?: string;
    accessKeyId?: string;
    signingDate?: Date;
  } = {},
): Promise<Answer> {
  const body = o.body === undefined ? undefined : Buffer.from(o.body);
  const request = {
    method,
    protocol: "http:",
    hostname: "127.0.0.1",
    port: s3.port,
    path: p,
    query: o.query ?? {},
    headers: {
      host: `127.0.0.1:${s3.port}`,
      ...(body ? { "content-length": String(body.length) } : {}),
      ...(o.headers ?? {}),
    },
    body,
  };
  const out = await sign(request, o);
  return send(s3, method, `${p}${queryString(out.query)}`, out.headers, body);
}

/** A presigned URL path+query, as media's presigner builds it. */
async function presign(
  s3: RunningS3,
  method: string,
  key: string,
  o: {
    headers?: Record<string, string>;
    expiresIn?: number;
    signingDate?: Date;
    query?: Record<string, string>;
  } = {},
): Promise<string> {
  // As @aws-sdk/s3-request-presigner does: the payload is UNSIGNED-PAYLOAD, hoisted into the query.
  const headers = {
    host: `127.0.0.1:${s3.port}`,
    "x-amz-content-sha256": "UNSIGNED-PAYLOAD",
    ...(o.headers ?? {}),
  };
  const out = await signer().presign(
    {
      method,
      protocol: "http:",
      hostname: "127.0.0.1",
      port: s3.port,
      path: objectPath(key),
      query: { ...(o.query ?? {}) },
      headers,
    } as never,
    {
      expiresIn: o.expiresIn ?? 300,
      signableHeaders: new Set(Object.keys(o.headers ?? {})),
      unhoistableHeaders: new Set(Object.keys(o.headers ?? {})),
      ...(o.signingDate ? { signingDate: o.signingDate } : {}),
    },
  );
  return `${out.path}${queryString(out.query as Record<string, string>)}`;
}

async function putSigned(
  s3: RunningS3,
  key: string,
  body: string,
  contentType = "image/png",
): Promise<void> {
  const r = await signed(s3, "PUT", objectPath(key), {
    body,
    headers: { "content-type": contentType },
  });
  assert.equal(r.status, 200, r.body);
}

void test("anonymous listing, writes, deletes and private reads are refused with S3 AccessDenied; public/ reads are served", async (t) => {
  const s3 = await start(t);
  await putSigned(s3, "private/u1/a1/secret.png", "private bytes");
  await putSigned(s3, "public/u1/a2/cat.png", "public bytes");

  for (const [method, p] of [
    ["GET", "/"],
    ["GET", `/${BUCKET}`],
    ["GET", `/${BUCKET}?list-type=2&prefix=private/`],
    ["GET", objectPath("private/u1/a1/secret.png")],
    ["HEAD", objectPath("private/u1/a1/secret.png")],
    ["DELETE", objectPath("public/u1/a2/cat.png")],
    ["GET", `${objectPath("public/u1/a2/cat.png")}?acl`],
    ["GET", `${objectPath("public/u1/a2/cat.png")}?tagging`],
  ] as const) {
    const r = await send(s3, method, p);
    assert.equal(r.status, 403, `${method} ${p}: ${r.status} ${r.body}`);
    if (method !== "HEAD") {
      assert.equal(code(r), "AccessDenied", `${method} ${p}`);
      assert.equal(r.headers["content-type"], "application/xml");
      assert.doesNotMatch(r.body, /secret\.png|private bytes/);
    }
  }

  // The attack of issue 11: an anonymous PUT replacing a ready image with HTML.
  const put = await send(
    s3,
    "PUT",
    objectPath("public/u1/a2/cat.png"),
    { "content-type": "text/html" },
    "<script>alert(1)</script>",
  );
  assert.equal(put.status, 403);
  assert.equal(code(put), "AccessDenied");
  const mpu = await send(
    s3,
    "POST",
    `${objectPath("public/u1/a2/x.png")}?uploads`,
  );
  assert.equal(mpu.status, 403);

  const got = await send(s3, "GET", objectPath("public/u1/a2/cat.png"));
  assert.equal(got.status, 200);
  assert.equal(got.body, "public bytes");
  assert.equal(got.headers["content-type"], "image/png");
  assert.equal(
    (await send(s3, "HEAD", objectPath("public/u1/a2/cat.png"))).status,
    200,
  );
  // S3 refuses response-* overrides on anonymous GETs (they would let anyone reframe the object).
  const override = await send(
    s3,
    "GET",
    `${objectPath("public/u1/a2/cat.png")}?response-content-type=text%2Fhtml`,
  );
  assert.equal(override.status, 400);
  assert.equal(code(override), "InvalidRequest");
  // Anonymous reads of private keys are refused even when the path tries to climb out of public/.
  for (const p of [
    `/${BUCKET}/public/../private/u1/a1/secret.png`,
    `/${BUCKET}/public/%2E%2E/private/u1/a1/secret.png`,
    `/${BUCKET}/public%2F..%2Fprivate%2Fu1%2Fa1%2Fsecret.png`,
  ]) {
    const r = await send(s3, "GET", p);
    assert.equal(r.status, 400, `${p}: ${r.body}`);
    assert.doesNotMatch(r.body, /private bytes/);
  }
  // Nothing anonymous changed anything.
  const still = await signed(s3, "GET", objectPath("public/u1/a2/cat.png"));
  assert.equal(still.body, "public bytes");
});

void test("signed requests: the right key works; a wrong secret, an unknown key, another region, V2 and a skewed clock are refused", async (t) => {
  const clock = { now: Date.now() };
  const s3 = await start(t, clock);
  await putSigned(s3, "private/u1/a1/k.png", "hello");
  const list = await signed(s3, "GET", `/${BUCKET}`, {
    query: { "list-type": "2", prefix: "private/" },
  });
  assert.equal(list.status, 200, list.body);
  assert.match(list.body, /<Key>private\/u1\/a1\/k\.png<\/Key>/);
  // A bucket-level path with its trailing slash, as the SDK signs it, verifies too.
  assert.equal(
    (await signed(s3, "GET", `/${BUCKET}/`, { query: { "list-type": "2" } }))
      .status,
    200,
  );

  let r = await signed(s3, "GET", objectPath("private/u1/a1/k.png"), {
    secret: "wrong",
  });
  assert.equal(r.status, 403);
  assert.equal(code(r), "SignatureDoesNotMatch");
  r = await signed(s3, "GET", objectPath("private/u1/a1/k.png"), {
    accessKeyId: "SOMEONE",
  });
  assert.equal(r.status, 403);
  assert.equal(code(r), "InvalidAccessKeyId");
  const other = await sign(
    {
      method: "GET",
      protocol: "http:",
      hostname: "127.0.0.1",
      port: s3.port,
      path: objectPath("private/u1/a1/k.png"),
      query: {},
      headers: { host: `127.0.0.1:${s3.port}` },
    },
    { region: "eu-west-1" },
  );
  r = await send(s3, "GET", objectPath("private/u1/a1/k.png"), other.headers);
  assert.equal(r.status, 400);
  assert.equal(code(r), "AuthorizationHeaderMalformed");
  r = await send(s3, "GET", objectPath("private/u1/a1/k.png"), {
    authorization: "AWS S3RVER:c2lnbmF0dXJl",
    date: new Date().toUTCString(),
  });
  assert.equal(r.status, 400);
  assert.equal(code(r), "InvalidRequest");
  // A captured signed request replayed to another key does not verify.
  const captured = await sign({
    method: "GET",
    protocol: "http:",
    hostname: "127.0.0.1",
    port: s3.port,
    path: objectPath("private/u1/a1/k.png"),
    query: {},
    headers: { host: `127.0.0.1:${s3.port}` },
  });
  r = await send(
    s3,
    "GET",
    objectPath("private/u2/a9/other.png"),
    captured.headers,
  );
  assert.equal(code(r), "SignatureDoesNotMatch");
  // S3 allows 15 minutes of skew between x-amz-date and its clock.
  clock.now += 16 * 60_000;
  r = await send(
    s3,
    "GET",
    objectPath("private/u1/a1/k.png"),
    captured.headers,
  );
  assert.equal(r.status, 403);
  assert.equal(code(r), "RequestTimeTooSkewed");
});

void test("a presigned create-only PUT works once; replaying it gets 412 and the object is unchanged; dropping the signed header is refused", async (t) => {
  const s3 = await start(t);
  const key = "public/u1/a1/cat.png";
  const headers = {
    "content-type": "image/png",
    "content-length": "3",
    "if-none-match": "*",
  };
  const url = await presign(s3, "PUT", key, { headers });
  let r = await send(s3, "PUT", url, headers, "png");
  assert.equal(r.status, 200, r.body);
  // A replay within the URL's life (e.g. after complete verified the object): refused.
  r = await send(s3, "PUT", url, headers, "htm");
  assert.equal(r.status, 412, r.body);
  assert.equal(code(r), "PreconditionFailed");
  // Dropping the signed If-None-Match breaks the signature.
  const { "if-none-match": _, ...unconditional } = headers;
  r = await send(s3, "PUT", url, unconditional, "htm");
  assert.equal(r.status, 403);
  assert.equal(code(r), "SignatureDoesNotMatch");
  // An x-amz-* header added to a captured URL (here: turning the PUT into a copy) is refused.
  r = await send(
    s3,
    "PUT",
    url,
    { ...headers, "x-amz-copy-source": `/${BUCKET}/private/u2/a2/secret.png` },
    "png",
  );
  assert.equal(r.status, 403);
  assert.equal(code(r), "AccessDenied");
  assert.match(r.body, /HeadersNotSigned/);
  const got = await send(s3, "GET", objectPath(key));
  assert.equal(got.body, "png");

  // Header-signed conditional writes: If-None-Match on a new key succeeds, If-Match checks the ETag.
  const etag = String(got.headers.etag);
  r = await signed(s3, "PUT", objectPath(key), {
    body: "new",
    headers: { "content-type": "image/png", "if-match": '"0123"' },
  });
  assert.equal(r.status, 412);
  r = await signed(s3, "PUT", objectPath("public/u1/none.png"), {
    body: "new",
    headers: { "if-match": etag },
  });
  assert.equal(r.status, 404);
  assert.equal(code(r), "NoSuchKey");
  r = await signed(s3, "PUT", objectPath(key), {
    body: "new",
    headers: { "content-type": "image/png", "if-match": etag },
  });
  assert.equal(r.status, 200, r.body);
  r = await signed(s3, "PUT", objectPath("public/u1/fresh.png"), {
    body: "new",
    headers: { "if-none-match": "*" },
  });
  assert.equal(r.status, 200, r.body);
});

void test("concurrent create-only PUTs of one key: exactly one wins", async (t) => {
  const s3 = await start(t);
  const headers = {
    "content-type": "image/png",
    "content-length": "4",
    "if-none-match": "*",
  };
  const url = await presign(s3, "PUT", "public/u1/race.png", { headers });
  const bodies = Array.from(
    { length: 8 },
    (_, i) => `b${String(i).padStart(3, "0")}`,
  );
  const answers = await Promise.all(
    bodies.map((b) => send(s3, "PUT", url, headers, b)),
  );
  assert.deepEqual(
    answers.map((a) => a.status).sort(),
    [200, 412, 412, 412, 412, 412, 412, 412],
  );
  const winner = bodies[answers.findIndex((a) => a.status === 200)];
  assert.equal(
    (await send(s3, "GET", objectPath("public/u1/race.png"))).body,
    winner,
  );
});

void test("presigned URLs: GET with response overrides works, an expired or tampered one is refused", async (t) => {
  const clock = { now: Date.now() };
  const s3 = await start(t, clock);
  await putSigned(s3, "private/u1/a1/doc.png", "bytes");
  const url = await presign(s3, "GET", "private/u1/a1/doc.png", {
    expiresIn: 60,
    signingDate: new Date(clock.now),
    query: {
      "response-content-disposition": 'attachment; filename="doc.png"',
      "response-content-type": "image/png",
    },
  });
  let r = await send(s3, "GET", url);
  assert.equal(r.status, 200, r.body);
  assert.equal(r.body, "bytes");
  assert.equal(
    r.headers["content-disposition"],
    'attachment; filename="doc.png"',
  );
  // Another key with the same signature.
  r = await send(s3, "GET", url.replace("doc.png?", "other.png?"));
  assert.equal(r.status, 403);
  assert.equal(code(r), "SignatureDoesNotMatch");
  // A changed override.
  r = await send(
    s3,
    "GET",
    url.replace(
      "response-content-type=image%2Fpng",
      "response-content-type=text%2Fhtml",
    ),
  );
  assert.equal(code(r), "SignatureDoesNotMatch");
  // Missing parts of the query signature.
  r = await send(s3, "GET", url.replace(/&X-Amz-Signature=[0-9a-f]+/, ""));
  assert.equal(r.status, 400);
  assert.equal(code(r), "AuthorizationQueryParametersError");
  clock.now += 61_000;
  r = await send(s3, "GET", url);
  assert.equal(r.status, 403);
  assert.equal(code(r), "AccessDenied");
  assert.match(r.body, /Request has expired/);
});

void test("payload digests: a body that does not match x-amz-content-sha256, x-amz-checksum-sha256 or Content-MD5 is refused and not stored", async (t) => {
  const s3 = await start(t);
  const key = "private/u1/a1/d.bin";
  let r = await signed(s3, "PUT", objectPath(key), {
    body: "abc",
    headers: {
      "x-amz-content-sha256": createHash("sha256").update("xyz").digest("hex"),
    },
  });
  assert.equal(r.status, 400);
  assert.equal(code(r), "XAmzContentSHA256Mismatch");
  const headers = {
    "content-length": "3",
    "x-amz-checksum-sha256": createHash("sha256")
      .update("abc")
      .digest("base64"),
  };
  const url = await presign(s3, "PUT", key, { headers });
  r = await send(s3, "PUT", url, headers, "abd");
  assert.equal(r.status, 400);
  assert.equal(code(r), "BadDigest");
  r = await signed(s3, "PUT", objectPath(key), {
    body: "abc",
    headers: {
      "content-md5": createHash("md5").update("abd").digest("base64"),
    },
  });
  assert.equal(code(r), "BadDigest");
  assert.equal((await signed(s3, "HEAD", objectPath(key))).status, 404);
  r = await send(s3, "PUT", url, headers, "abc");
  assert.equal(r.status, 200, r.body);
});

void test("CORS: preflights need no signature, and a refusal carries the allow-origin a browser needs to read it", async (t) => {
  const s3 = await start(t);
  const pre = await send(s3, "OPTIONS", objectPath("public/u1/a1/x.png"), {
    origin: ORIGIN,
    "access-control-request-method": "PUT",
    "access-control-request-headers": "content-type,if-none-match",
  });
  assert.equal(pre.status, 200, pre.body);
  // s3rver answers a matching rule with `*` where S3 echoes the origin; either lets the browser on.
  const allowed = (v: unknown) => v === ORIGIN || v === "*";
  assert.ok(allowed(pre.headers["access-control-allow-origin"]));
  const headers = {
    "content-type": "image/png",
    "content-length": "3",
    "if-none-match": "*",
  };
  const url = await presign(s3, "PUT", "public/u1/a1/x.png", { headers });
  assert.equal(
    (await send(s3, "PUT", url, { ...headers, origin: ORIGIN }, "png")).status,
    200,
  );
  const again = await send(
    s3,
    "PUT",
    url,
    { ...headers, origin: ORIGIN },
    "png",
  );
  assert.equal(again.status, 412);
  assert.ok(allowed(again.headers["access-control-allow-origin"]));
  // No rule for this origin: a refusal carries no allow-origin either.
  const foreign = await send(
    s3,
    "PUT",
    url,
    { ...headers, origin: "http://evil.example" },
    "png",
  );
  assert.equal(foreign.status, 412);
  assert.equal(foreign.headers["access-control-allow-origin"], undefined);
  const stranger = await send(s3, "OPTIONS", objectPath("public/u1/a1/x.png"), {
    origin: "http://evil.example",
    "access-control-request-method": "PUT",
  });
  assert.equal(stranger.status, 403);
});

void test("configured credentials replace the default key", async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "linkport-s3-test-"));
  const s3 = await startS3Server({
    dir,
    buckets: [BUCKET],
    accessKeyId: "LOCALKEY",
    secretAccessKey: "local-secret",
  });
  t.after(async () => {
    await s3.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  assert.equal(s3.accessKeyId, "LOCALKEY");
  const ok = await signed(s3, "PUT", objectPath("private/k"), {
    body: "x",
    accessKeyId: "LOCALKEY",
    secret: "local-secret",
  });
  assert.equal(ok.status, 200, ok.body);
  const old = await signed(s3, "GET", objectPath("private/k"));
  assert.equal(old.status, 403);
  assert.equal(code(old), "InvalidAccessKeyId");
});
