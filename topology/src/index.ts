export * from './pg-replica.ts';
export * from './redis-cluster.ts';
export * from './gateway-config.ts';
export * from './topology.ts';
