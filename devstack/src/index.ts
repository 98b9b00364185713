export * from './embedded/index.ts';
export * from './local.ts';
export * from './provision.ts';
