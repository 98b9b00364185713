/**
 * The topology's supervisor process (started detached by `up`): starts everything, then waits for
 * SIGTERM/SIGINT and stops everything it started, by PID. A child that dies is logged, not
 * restarted: the topology exists to watch the rest survive it.
 */
import { defaultOptions, startTopology } from './topology.ts';

const log = (l: string) => process.stdout.write(`${new Date().toISOString()} ${l}\n`);
const opts = defaultOptions(process.env, log);
let stopping = false;
try {
  const topo = await startTopology(opts);
  log(`topology ready: gateway ${topo.state.gateway}`);
  const shutdown = async (sig: string) => {
    if (stopping) return;
    stopping = true;
    log(`${sig}: stopping`);
    await topo.stop();
    log('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
  setInterval(() => {}, 1 << 30);
} catch (err) {
  log(`topology failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exit(1);
}
