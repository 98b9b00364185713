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
  /** The request's trace and span (Traefik v3 access log fields), when it was traced. */
  TraceId?: string;
  SpanId?: string;
  [header: `request_${string}` | `downstream_${string}` | `origin_${string}`]: string | undefined;
}

export interface AccessLogger {
  log(entry: AccessLogEntry): void;
  /** Writes out the lines buffered so far (on close, and at process exit). */
  flush(): void;
}

/** Above this many buffered characters the lines are written at once rather than at the end of the tick. */
const flushAt = 64 * 1024;

/**
 * Lines are buffered and written once per event-loop turn: process.stdout is synchronous on files and
 * pipes, so a write per request was a syscall per request on the hot path. Line order is unchanged.
 */
export function createAccessLogger(stream: Writable | undefined): AccessLogger {
  if (!stream) return { log: () => {}, flush: () => {} };
  let buffered = '';
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    if (buffered === '') return;
    const out = buffered;
    buffered = '';
    stream.write(out);
  };
  return {
    log(entry) {
      buffered += `${JSON.stringify(entry)}\n`;
      if (buffered.length >= flushAt) flush();
      else if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    },
    flush,
  };
}

let offsetMinutes = NaN;
let offsetSuffix = '';

/** Go's RFC3339Nano-ish local time with offset, as Traefik prints StartLocal. */
export function localTime(d: Date): string {
  const off = -d.getTimezoneOffset();
  if (off !== offsetMinutes) {
    const abs = Math.abs(off);
    offsetSuffix = `${off >= 0 ? '+' : '-'}${String(Math.trunc(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
    offsetMinutes = off;
  }
  // the wall clock is the UTC rendering of the shifted instant: one toISOString, no padding per field
  const shifted = new Date(d.getTime() + off * 60_000).toISOString();
  return shifted.slice(0, 23) + offsetSuffix;
}

let stampMs = -1;
let stampUtc = '';
let stampLocal = '';

/**
 * StartUTC and StartLocal of a request starting at `ms` (epoch milliseconds). Both have millisecond
 * precision, so requests within one millisecond share the strings: at gateway rates several do, and
 * two ISO renderings per request were measurable (a Date and a string each).
 */
export function startStamps(ms: number): { utc: string; local: string } {
  if (ms !== stampMs) {
    const d = new Date(ms);
    stampUtc = d.toISOString();
    stampLocal = localTime(d);
    stampMs = ms;
  }
  return { utc: stampUtc, local: stampLocal };
}

let isoMs = -1;
let isoText = '';

/** `new Date(ms).toISOString()`, remembered for the current millisecond (the access line's `time`). */
export function isoTime(ms: number): string {
  if (ms !== isoMs) {
    isoText = new Date(ms).toISOString();
    isoMs = ms;
  }
  return isoText;
}
