import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError, PayloadTooLargeError, PgCode, UnauthorizedError, UnprocessableError, ValidationError, pgErrorCode } from '@linkport/common';
import { assetsRepository as repo } from '../assets/assets.repository.ts';
import { matchesSignature } from '../assets/magic.ts';
import { normaliseContentType, objectKey, publicUrl } from '../assets/policy.ts';
import type { MediaDeps } from '../deps.ts';

/**
 * Link preview images (issue 15 §4; events/README.md "Link previews"). The events process fetches a
 * page's og:image (SSRF-guarded, bounded) and hands the bytes here, so the image is stored under
 * media's own conventions — `public/<owner>/<asset>/preview.<ext>` in the media bucket, a
 * `media.assets` row owned by the link's owner, counted in their quota, `ready` only once the
 * object is written — and events needs neither bucket credentials nor rights on the media schema.
 *
 * Service-to-service only: a shared secret (MEDIA_INTERNAL_SECRET) in `X-Linkport-Internal-Secret`,
 * on a path outside `/v1/media`, which the gateway does not route (gateway/dynamic/media.yml), and
 * hidden from the OpenAPI document. Not registered at all when the secret is unset.
 */

/** Raster types a preview may be, each with a magic-byte signature (magic.ts). SVG never: it can carry script. */
const EXTENSIONS: Record<string, string> = { 'image/png': 'png', 'image/jpeg': 'jpg', 'image/gif': 'gif', 'image/webp': 'webp', 'image/avif': 'avif' };
export const PREVIEW_IMAGE_MAX_BYTES = 5 * 1024 ** 2;
const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function sameSecret(given: string | string[] | undefined, expected: string): boolean {
  if (typeof given !== 'string') return false;
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

export async function previewImagesRoutes(app: FastifyInstance, deps: MediaDeps, secret: string): Promise<void> {
  await app.register(async (scope) => {
    // Only image bodies, read whole up to the bound (Fastify answers 413 FST_ERR_CTP_BODY_TOO_LARGE past it).
    scope.addContentTypeParser(/^image\//, { parseAs: 'buffer', bodyLimit: PREVIEW_IMAGE_MAX_BYTES }, (_req, body, done) => done(null, body));
    scope.post(
      '/internal/preview-images',
      {
        schema: { hide: true },
        bodyLimit: PREVIEW_IMAGE_MAX_BYTES,
        onRequest: async (req: FastifyRequest) => {
          if (!sameSecret(req.headers['x-linkport-internal-secret'], secret)) throw new UnauthorizedError('Internal secret required', 'UNAUTHORIZED');
        },
      },
      async (req, reply) => {
        const owner = (req.query as Record<string, unknown>).owner;
        if (typeof owner !== 'string' || !uuid.test(owner)) throw new ValidationError('owner must be a user id', undefined, 'INVALID_OWNER');
        const contentType = normaliseContentType(req.headers['content-type'] ?? '');
        const ext = EXTENSIONS[contentType];
        const limit = deps.config.MEDIA_TYPE_LIMITS[contentType];
        if (!ext || limit === undefined) throw new AppError(415, 'CONTENT_TYPE_NOT_ALLOWED', `Content type ${contentType || '(none)'} is not a preview image type`, { allowed: Object.keys(EXTENSIONS) });
        const body = req.body;
        if (!Buffer.isBuffer(body) || body.length === 0) throw new ValidationError('An image body is required', undefined, 'EMPTY_BODY');
        if (body.length > limit) throw new PayloadTooLargeError(`Files of type ${contentType} are limited to ${limit} bytes`, 'FILE_TOO_LARGE', { maxSize: limit });
        // The declared type must be what the bytes are (same check as an upload's complete).
        if (!matchesSignature(contentType, body.subarray(0, 64))) throw new UnprocessableError(`The bytes are not ${contentType}`, 'CONTENT_MISMATCH');

        const id = randomUUID();
        const key = objectKey('public', owner.toLowerCase(), id, `preview.${ext}`);
        const checksum = createHash('sha256').update(body).digest('base64');
        let row;
        try {
          row = await repo.createWithinQuota(deps.db, {
            id, ownerId: owner.toLowerCase(), bucket: deps.storage.bucket, key, filename: `preview.${ext}`, contentType, size: body.length,
            visibility: 'public', checksum, pendingSeconds: deps.config.MEDIA_PENDING_TTL_SECONDS, quota: deps.config.MEDIA_USER_QUOTA_BYTES,
          });
        } catch (err) {
          if (pgErrorCode(err) === PgCode.foreignKeyViolation) throw new UnprocessableError('Unknown owner', 'UNKNOWN_OWNER');
          throw err;
        }
        if (!row) throw new PayloadTooLargeError('Storage quota exceeded', 'QUOTA_EXCEEDED');
        let etag: string | undefined;
        try {
          // Written by media itself with its own credentials; if-none-match keeps the key create-only
          // (as presignPut does). A failure leaves the row pending: the expiry job removes it.
          const put = await deps.storage.client.send(
            new PutObjectCommand({ Bucket: deps.storage.bucket, Key: key, Body: body, ContentType: contentType, ContentLength: body.length, ChecksumSHA256: checksum, IfNoneMatch: '*' }),
          );
          etag = put.ETag;
        } catch (err) {
          await repo.transition(deps.db, id, ['pending'], 'failed').catch(() => undefined);
          throw err;
        }
        if (!(await repo.transition(deps.db, id, ['pending'], 'ready', { etag: etag ?? null }))) {
          throw new AppError(503, 'STORAGE_UNAVAILABLE', 'The preview image could not be recorded');
        }
        req.log.info({ assetId: id, owner, size: body.length, contentType }, 'preview image stored');
        return reply.code(201).send({ id, objectKey: key, contentType, size: body.length, url: publicUrl(deps.config.MEDIA_PUBLIC_BASE_URL, key) });
      },
    );
  });
}
