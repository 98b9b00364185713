export * from './ports.ts';
export * from './postgres.ts';
export * from './redis.ts';
export * from './s3.ts';
export * from './pg-binaries.ts';
export * from './clickhouse.ts';
