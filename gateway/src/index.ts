export { buildGateway, type Gateway, type GatewayOptions } from './app.ts';
export { loadDynamicDir, parseDynamicFiles, ConfigLoadError, type ConfigIssue } from './config/load.ts';
export { renderTemplate } from './config/template.ts';
export { gatewayEnvSchema, templateEnv } from './config/env.ts';
export type { DynamicConfig } from './config/schema.ts';
