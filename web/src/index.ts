export { buildWebApp, CSP } from './app.ts';
export { ensureBuilt, isFresh, precompress, sourceFingerprint, viteBuild } from './build.ts';
export { loadWebConfig, WEB_ROOT, type WebConfig } from './config.ts';
