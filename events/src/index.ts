export { loadEventsConfig, type Config } from './config.ts';
export { buildEvents, type EventsService, type EventsOptions } from './app.ts';
export { SECRET_HEADER, HASURA_EVENTS_PATH } from './routes.ts';
