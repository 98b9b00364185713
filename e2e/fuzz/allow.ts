import type { Violation } from './fuzzer.ts';

/**
 * Known failures, each an explicit entry with the reason and who is on it. A matching violation is
 * printed in the summary under "allowed" and does not fail the run. Keep this list short and
 * remove an entry as soon as its fix lands: an entry that matches nothing is reported too.
 */
export interface AllowEntry {
  id: string;
  reason: string;
  match(v: Violation): boolean;
  /**
   * Case families the in-test fuzzer (e2e/test/fuzz.test.ts) does not send while this entry stands:
   * for a finding that kills a process, whose restarts (and the launcher's crash-loop limit) would
   * turn the rest of a short run into 502s and hide every other finding. `npm run fuzz` still
   * sends them, so the finding stays visible there.
   */
  avoidInTest?: RegExp;
}

// Every finding so far is fixed, each with a regression test beside its fix: the first run's four
// (engine WebSocket frame over maxPayload, redirect password form over 4 KiB, gateway non-WebSocket
// upgrades and CONNECT), and the 51 MiB import that sometimes got no answer under load (the
// gateway's lingering close, gateway/src/app.ts; test in gateway/test/proxy.test.ts). Open: none.
export const ALLOW: AllowEntry[] = [];
