export { buildApp, PREFIX, type AppOptions } from './app.ts';
export { loadConfig, configSchema, type Config } from './config.ts';
export { rotateSigningKeys } from './modules/keys/keys.service.ts';
export { REVOCATION_BOUND_MS } from './modules/verify/verify.service.ts';
