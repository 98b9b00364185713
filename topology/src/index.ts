export * from './pg-replica.ts';
export * from './redis-cluster.ts';
