/** The events process (events/README.md) in the shared lifecycle (common/src/runtime.ts). */
import { runProcess } from '@linkport/common';
import { buildEvents } from './app.ts';
import { loadEventsConfig } from './config.ts';

await runProcess({
  name: 'events',
  config: () => loadEventsConfig(),
  logLevel: (c) => c.LOG_LEVEL,
  async start(config, log) {
    const events = await buildEvents(config, { logger: log });
    await events.app.listen({ host: config.HOST, port: config.EVENTS_PORT });
    events.startWork();
    log.info({ port: config.EVENTS_PORT, scheduler: config.EVENTS_SCHEDULER, allowLoopback: config.EVENTS_ALLOW_LOOPBACK }, 'events started');
    return { close: () => events.close() };
  },
});
