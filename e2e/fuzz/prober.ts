/**
 * The benign prober, in a worker thread of its own: the fuzzer's event loop is busy building
 * megabyte bodies and parsing answers, and a probe timed on that loop would measure the fuzzer, not
 * the stack. Here each probe is timed on an otherwise idle loop.
 *
 * Messages in: {type: 'quiet', n} (n samples of each kind, then 'quiet-done'), {type: 'run'}
 * (until {type: 'stop'}, then 'run-done'). Out: samples in ms and failures.
 */
import { parentPort, workerData } from 'node:worker_threads';

export interface ProberData {
  gateway: string;
  token: string;
  code: string;
  spoof: boolean;
  userAgent: string;
}

export interface ProberResult {
  graphql: number[];
  redirect: number[];
  failures: string[];
}

const d = workerData as ProberData;
let n = 0;
const headers = (extra: Record<string, string>): Record<string, string> => {
  n++;
  // A fresh client address per probe (the gateway trusts loopback's X-Forwarded-For in the fuzz
  // stack): the prober never meets a rate limit, so what it measures is latency, not 429s.
  return d.spoof ? { 'x-forwarded-for': `198.19.${(n >> 8) & 255}.${(n & 255) || 1}`, ...extra } : extra;
};

async function probe(kind: 'graphql' | 'redirect', out: ProberResult): Promise<void> {
  const t = performance.now();
  try {
    if (kind === 'graphql') {
      const res = await fetch(`${d.gateway}/v1/links/graphql`, {
        method: 'POST',
        headers: headers({ authorization: `Bearer ${d.token}`, 'content-type': 'application/json' }),
        body: JSON.stringify({ query: '{ links_links(limit: 5, order_by: {created_at: desc}) { id code click_count } }' }),
      });
      const body = await res.text();
      if (res.status !== 200 || !body.includes(d.code)) out.failures.push(`graphql: HTTP ${res.status} ${body.slice(0, 200)}`);
    } else {
      const res = await fetch(`${d.gateway}/${d.code}`, { redirect: 'manual', headers: headers({ 'user-agent': d.userAgent }) });
      await res.arrayBuffer();
      if (res.status !== 302) out.failures.push(`redirect: HTTP ${res.status}`);
    }
  } catch (err) {
    out.failures.push(`${kind}: ${(err as Error).message}`);
  }
  out[kind].push(performance.now() - t);
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
let running = false;

parentPort?.on('message', (msg: { type: 'quiet'; n: number } | { type: 'run' } | { type: 'stop' }) => {
  if (msg.type === 'quiet') {
    void (async () => {
      const warm: ProberResult = { graphql: [], redirect: [], failures: [] };
      for (let i = 0; i < 10; i++) {
        await probe('graphql', warm);
        await probe('redirect', warm);
      }
      const out: ProberResult = { graphql: [], redirect: [], failures: [] };
      for (let i = 0; i < msg.n; i++) {
        await probe('graphql', out);
        await probe('redirect', out);
        await sleep(10);
      }
      parentPort?.postMessage({ type: 'quiet-done', result: out });
    })();
  } else if (msg.type === 'run') {
    running = true;
    void (async () => {
      const out: ProberResult = { graphql: [], redirect: [], failures: [] };
      while (running) {
        await probe('graphql', out);
        if (!running) break;
        await probe('redirect', out);
        await sleep(10);
      }
      parentPort?.postMessage({ type: 'run-done', result: out });
    })();
  } else running = false;
});
