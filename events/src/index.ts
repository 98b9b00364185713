export { loadEventsConfig, type Config } from './config.ts';
