import type { FastifyInstance } from 'fastify';
import type { Config } from '../config.ts';
import { createS3Client, emulatorCompat, type S3Settings } from '../storage/client.ts';
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
  app.addHook('onClose', async () => {
    client.destroy();
  });
  const fast = config.S3_ENDPOINT && config.S3_FORCE_PATH_STYLE ? new PathStylePresigner(client, config.S3_ENDPOINT, config.S3_BUCKET) : undefined;
  return new Storage(client, config.S3_BUCKET, emulatorCompat(settings), fast);
}
