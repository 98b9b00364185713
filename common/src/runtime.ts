import { ConfigError } from './config.ts';
import { createLogger, type Logger } from './logger.ts';
import { onShutdown } from './shutdown.ts';
import { startTracing, type Tracing, type TracingOptions } from './telemetry/tracing.ts';

/**
 * One lifecycle for every long-running process (core, media, engine, redirect, click worker,
 * gateway): config validated once → one logger → start (build + listen) → on SIGTERM/SIGINT drain
 * and close within a bound. Each `src/server.ts` is a thin call of `runProcess`; tests call the
 * same `build…(config)` functions without it.
 *
 * Exit codes tell a supervisor (the launcher, systemd, Docker's restart policy) what to do:
 * 0 after a clean drain, 78 (EX_CONFIG, sysexits.h) for a configuration that no restart can fix,
 * 70 (EX_SOFTWARE) for a crash, 1 for a start that failed (a dependency not there yet).
 */
export const EXIT_CONFIG = 78;
export const EXIT_CRASH = 70;

export interface RunningService {
  /** Stop accepting work, drain what is in flight, close pools. */
  close(): Promise<void>;
}

export interface ProcessSpec<C> {
  /** The logger's `name` and the process title's suffix. */
  name: string;
  /** Parses and validates the environment; throws ConfigError listing every bad key. */
  config: () => C;
  logLevel?: (config: C) => string | undefined;
  start: (config: C, log: Logger) => Promise<RunningService>;
  /** Tracing options (telemetry/tracing.ts); tracing itself is switched by OTEL_EXPORTER_OTLP_ENDPOINT. */
  tracing?: Omit<TracingOptions, 'serviceName' | 'env'>;
  /** How long a drain may take before the process exits anyway (default 10 s). */
  drainTimeoutMs?: number;
}

export async function runProcess<C>(spec: ProcessSpec<C>): Promise<RunningService | undefined> {
  process.title = `linkport-${spec.name}`;
  let config: C;
  try {
    config = spec.config();
  } catch (err) {
    if (err instanceof ConfigError) {
      // Plain text, not JSON: this is read by a person fixing the environment.
      process.stderr.write(`${spec.name}: ${err.message}\n`);
      process.exit(EXIT_CONFIG);
    }
    throw err;
  }
  const log = createLogger(spec.name, spec.logLevel?.(config) ?? 'info');
  // A bug that escapes every handler still ends in one fatal log line with its stack, and an exit
  // code the supervisor restarts on — never a silent half-alive process.
  process.on('uncaughtException', (err) => {
    log.fatal({ err }, 'uncaught exception');
    process.exit(EXIT_CRASH);
  });
  process.on('unhandledRejection', (err) => {
    log.fatal({ err }, 'unhandled rejection');
    process.exit(EXIT_CRASH);
  });
  let service: RunningService;
  // Before anything is built, so the first request and the first query are traced; a no-op unless
  // OTEL_EXPORTER_OTLP_ENDPOINT is set (telemetry/tracing.ts). Never a reason not to start.
  const tracing: Tracing = await startTracing({ serviceName: spec.name, ...spec.tracing }).catch((err: unknown) => {
    log.error({ err }, 'tracing could not start; running without it');
    return { enabled: false, shutdown: async () => undefined };
  });
  if (tracing.enabled) log.info({ endpoint: process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? process.env.OTEL_EXPORTER_OTLP_ENDPOINT }, 'tracing on (OTLP/HTTP)');
  try {
    service = await spec.start(config, log);
  } catch (err) {
    log.fatal({ err }, 'start failed');
    process.exit(1);
  }
  // Spans of the drain itself are exported too: the SDK is flushed after the service closed.
  onShutdown(
    async () => {
      await service.close();
      await tracing.shutdown();
    },
    log,
    spec.drainTimeoutMs ?? 10_000,
  );
  watchSupervisor(log);
  log.info({ pid: process.pid }, `${spec.name} started`);
  return service;
}

/**
 * Under the launcher (LINKPORT_SUPERVISOR_PID set), a service whose launcher vanished without
 * stopping it (SIGKILL of the whole launcher tree) drains and exits by itself, as if it had got
 * SIGTERM: no service outlives the stack it belongs to. Node has no PR_SET_PDEATHSIG, hence polling.
 */
function watchSupervisor(log: Logger): void {
  const supervisor = Number(process.env.LINKPORT_SUPERVISOR_PID);
  if (!supervisor) return;
  const timer = setInterval(() => {
    if (process.ppid === supervisor) return;
    clearInterval(timer);
    log.warn({ supervisor }, 'the launcher is gone: stopping');
    process.kill(process.pid, 'SIGTERM');
  }, 500);
  timer.unref();
}
