/**
 * JSON access log with Traefik's field names (doc `observability/logs-and-accesslogs.md`, src
 * `pkg/middlewares/accesslog/logger.go`): durations in nanoseconds, router and service names with
 * their `@file` provider suffix, kept request headers as `request_<Name>`, one line per request.
 */
import type { Writable } from 'node:stream';

export interface AccessLogEntry {
  StartUTC: string;
  StartLocal: string;
  ClientAddr: string;
  ClientHost: string;
  ClientPort: string;
  ClientUsername: string;
  RequestAddr: string;
  RequestHost: string;
  RequestPort: string;
  RequestMethod: string;
  RequestPath: string;
  RequestProtocol: string;
  RequestScheme: string;
  RequestContentSize: number;
  RequestCount: number;
  RouterName?: string;
  ServiceName?: string;
  ServiceURL?: string;
  ServiceAddr?: string;
  OriginStatus?: number;
  OriginDuration?: number;
  OriginContentSize?: number;
  DownstreamStatus?: number;
  DownstreamContentSize?: number;
  Duration?: number;
  Overhead?: number;
  RetryAttempts: number;
  entryPointName: string;
  level: 'info';
  msg: '';
  time?: string;
  [header: `request_${string}` | `downstream_${string}` | `origin_${string}`]: string | undefined;
}

export interface AccessLogger {
  log(entry: AccessLogEntry): void;
}

export function createAccessLogger(stream: Writable | undefined): AccessLogger {
  if (!stream) return { log: () => {} };
  return { log: (entry) => void stream.write(`${JSON.stringify(entry)}\n`) };
}

function pad(n: number, w = 2): string {
  return String(n).padStart(w, '0');
}

/** Go's RFC3339Nano-ish local time with offset, as Traefik prints StartLocal. */
export function localTime(d: Date): string {
  const off = -d.getTimezoneOffset();
  const sign = off >= 0 ? '+' : '-';
  const abs = Math.abs(off);
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.` +
    `${pad(d.getMilliseconds(), 3)}${sign}${pad(Math.trunc(abs / 60))}:${pad(abs % 60)}`
  );
}
