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

// The four findings of the first run (engine WebSocket frame over maxPayload, redirect password
// form over 4 KiB, gateway non-WebSocket upgrades and CONNECT) are fixed, each with a regression
// test beside its fix. Open:
export const ALLOW: AllowEntry[] = [
  {
    id: 'gateway-51mib-import-no-answer',
    reason:
      'A 51 MiB import (over body-50m, behind forwardAuth) sometimes gets no answer: the connection closes ' +
      'while the body is still being sent, so the 413 is lost to the reset. Seen 2 of 4 clean-clone CI runs ' +
      'under the full suite (session 4: "EPIPE after 100 ms", "closed without an answer after 383 ms ' +
      '(request not fully sent)"). The same request against a gateway with the same middlewares got 413 ' +
      '6 of 6 times alone, so it shows only under load; cause not found yet. Open, in the session-4 note.',
    match: (v) => v.family === 'transfer-import huge' && v.kind === 'no answer',
  },
];
