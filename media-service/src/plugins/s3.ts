import type { FastifyInstance } from 'fastify';
import { inSpan, tracingActive } from '@linkport/common';
import type { Config } from '../config.ts';
import { createS3Client, emulatorCompat, sdkNodeWarning, type S3Settings } from '../storage/client.ts';
import { PathStylePresigner } from '../storage/presign.ts';
import { Storage } from '../storage/storage.ts';

export function s3Settings(config: Config): S3Settings {
  return {
    ...(config.S3_ENDPOINT ? { endpoint: config.S3_ENDPOINT } : {}),
    region: config.S3_REGION,
    accessKeyId: config.S3_ACCESS_KEY_ID,
    secretAccessKey: config.S3_SECRET_ACCESS_KEY,
    forcePathStyle: config.S3_FORCE_PATH_STYLE,
    emulatorCompat: config.S3_EMULATOR_COMPAT,
  };
}

/** The bucket client; its sockets are released on close. */
export function s3Plugin(app: FastifyInstance, config: Config): Storage {
  const settings = s3Settings(config);
  const client = createS3Client(settings);
  const nodeWarning = sdkNodeWarning();
  if (nodeWarning) app.log.warn({ code: 'node_version_support' }, nodeWarning);
  app.addHook('onClose', async () => {
    client.destroy();
  });
  const fast = config.S3_ENDPOINT && config.S3_FORCE_PATH_STYLE ? new PathStylePresigner(client, config.S3_ENDPOINT, config.S3_BUCKET) : undefined;
  return traced(new Storage(client, config.S3_BUCKET, emulatorCompat(settings), fast));
}

/**
 * With tracing on, each presign is a span of the request (S3 calls proper are the http
 * instrumentation's CLIENT spans; a presign makes none — it is a local signature, so without this
 * it would not show at all). Attributes as the AWS SDK conventions name them; keys are not recorded.
 */
function traced(storage: Storage): Storage {
  if (!tracingActive()) return storage;
  const attrs = (method: string) => ({ 'rpc.system': 'aws-api', 'rpc.service': 'S3', 'rpc.method': method, 'aws.s3.bucket': storage.bucket });
  const put = storage.presignPut.bind(storage);
  const part = storage.presignPart.bind(storage);
  const get = storage.presignGet.bind(storage);
  storage.presignPut = (o) => inSpan('S3.presign PutObject', attrs('PutObject'), () => put(o));
  storage.presignPart = (o) => inSpan('S3.presign UploadPart', attrs('UploadPart'), () => part(o));
  storage.presignGet = (o) => inSpan('S3.presign GetObject', attrs('GetObject'), () => get(o));
  return storage;
}
