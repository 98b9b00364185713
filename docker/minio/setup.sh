#!/bin/sh
# One-shot job (compose service `minio-setup`): the media bucket, private. MinIO has no bucket CORS
# API; browser CORS comes from the server's MINIO_API_CORS_ALLOW_ORIGIN (set from CORS_ORIGINS).
# With Cloudflare R2 (S3_ENDPOINT=https://<account>.r2.cloudflarestorage.com) this job only touches
# the unused local MinIO; configure the R2 bucket's CORS rules in Cloudflare.
set -eu
: "${MINIO_ROOT_USER:?}" "${MINIO_ROOT_PASSWORD:?}" "${S3_BUCKET:?}"
mc alias set local http://minio:9000 "$MINIO_ROOT_USER" "$MINIO_ROOT_PASSWORD"
mc mb --ignore-existing "local/$S3_BUCKET"
mc anonymous set none "local/$S3_BUCKET"
echo "bucket $S3_BUCKET ready"
