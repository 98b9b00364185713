export * from './postgres.ts';
export * from './services.ts';
export * from '../index.ts';
export * from './otlp.ts';
