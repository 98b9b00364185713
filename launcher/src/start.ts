/**
 * `npm start [-- --verbose] [-- --check]`: the whole platform on this machine, no Docker.
 * This process only relays signals to the launcher (cli.ts), which runs in its own process group.
 */
import { INNER_ENV, superviseSelf } from './supervise.ts';

if (process.env[INNER_ENV]) await import('./cli.ts');
else superviseSelf();
