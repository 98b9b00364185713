/**
 * `npm run rotate-keys -w @linkport/core-service`: adds a new current signing key and retires the
 * previous one (still verifying, still in the JWKS, until its tokens have expired). Running
 * instances pick the new key up within a minute, or at once when they meet its kid.
 */
import { createPool } from '@linkport/common';
import { loadConfig } from '../config.ts';
import { rotateSigningKeys } from '../modules/keys/keys.service.ts';

const config = loadConfig();
if (config.JWT_PRIVATE_KEYS) {
  console.error('JWT_PRIVATE_KEYS is set: keys come from the environment. Rotate by putting a new key first in that list.');
  process.exit(2);
}
const pool = createPool(config.DATABASE_URL, { max: 1, applicationName: 'core-rotate-keys' });
try {
  const { kid, retired } = await rotateSigningKeys(pool, Date.now);
  console.log(JSON.stringify({ current: kid, retired }));
} finally {
  await pool.end();
}
