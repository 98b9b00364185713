export { buildRedirectApp, type RedirectApp } from './app.ts';
export { configSchema, loadRedirectConfig, type Config } from './config.ts';
export { decide, type Decision, type RequestFacts } from './decide.ts';
export { clickStreams, consumedStreams } from './clicks/streams.ts';
export { ClickHouseAnalytics, createClickHouse, ensureClickHouseSchema } from './worker/sinks/clickhouse.ts';
