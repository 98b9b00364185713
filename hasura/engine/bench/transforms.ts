/**
 * `npm run bench:transforms -w @linkport/hasura-engine` (issue 15 §1): the CPU an event trigger's
 * request transform adds to one delivery, against a same-run baseline.
 *
 *   - baseline: what an untransformed delivery does with the payload — `JSON.stringify` of a
 *     typical event-trigger payload (the link row of Linkport's `links_webhooks` trigger).
 *   - transformed: `applyRequestTransform` with url, query_params, headers and a body template
 *     (range, functions, optional chaining) on the same payload; the templates are parsed once and
 *     kept (kriti.ts `parsedTemplate`), as in the engine, so this is evaluation and request building.
 *   - parse only: `parseKriti` of the body template, what each delivery would pay without that cache.
 *
 * Rounds alternate the three (order rotated) so load drift on a shared machine hits all alike;
 * medians of per-round µs/op are printed with their ratio to the baseline.
 * Flags (or BENCH_<FLAG>): --ops (per round, default 20000), --rounds (default 7).
 */
import { parseArgs } from 'node:util';
import { applyRequestTransform, parseRequestTransform, type WebhookRequest } from '../src/transforms/transform.ts';
import { parseKriti } from '../src/transforms/kriti.ts';

const { values: flags } = parseArgs({
  options: {
    ops: { type: 'string', default: process.env.BENCH_OPS ?? '20000' },
    rounds: { type: 'string', default: process.env.BENCH_ROUNDS ?? '7' },
  },
});
const OPS = Number(flags.ops);
const ROUNDS = Number(flags.rounds);

const payload = {
  id: '0f1c3c1e-6a36-4a4e-9b59-2f1f0d2b7a11',
  table: { schema: 'links', name: 'links' },
  trigger: { name: 'links_webhooks' },
  event: {
    op: 'UPDATE',
    session_variables: { 'x-hasura-role': 'user', 'x-hasura-user-id': '42' },
    data: {
      old: { id: 7, code: 'abc123', destination: 'https://example.com/a', title: null, tags: ['x', 'y'], click_count: 10, owner_id: 42 },
      new: { id: 7, code: 'abc123', destination: 'https://example.com/b?utm=1', title: 'B', tags: ['x', 'y', 'z'], click_count: 11, owner_id: 42 },
    },
    trace_context: null,
  },
  delivery_info: { current_retry: 0, max_retries: 3 },
  created_at: '2026-12-03T19:00:00.123456',
};
const body = JSON.stringify(payload);
const bodyTemplate = `{
  "type": {{ if $body.event.op == "INSERT" }} "link.created" {{ elif $body.event.op == "UPDATE" }} "link.updated" {{ else }} "link.deleted" {{ end }},
  "link": { "id": {{ $body.event.data.new?.id ?? $body.event.data.old.id }}, "code": {{ $body.event.data.new?.code }}, "url": {{ escapeUri($body.event.data.new?.destination ?? "") }} },
  "tags": {{ range i, t := $body.event.data.new.tags }} { "n": {{ i }}, "tag": {{ toUpper(t) }} } {{ end }},
  "by": {{ getSessionVariable("x-hasura-user-id") }}
}`;
const rt = parseRequestTransform({
  version: 2,
  method: 'PUT',
  url: '{{$base_url}}/links/{{$body.event.data.new.id}}',
  query_params: { op: '{{ toLower($body.event.op) }}' },
  request_headers: { add_headers: { 'x-link': '{{$body.event.data.new.code}}' }, remove_headers: ['user-agent'] },
  body: { action: 'transform', template: bodyTemplate },
});
const req: WebhookRequest = { method: 'POST', url: 'http://127.0.0.1:9/hook', headers: [['Content-Type', 'application/json'], ['User-Agent', 'hasura-graphql-engine/v2.44.0']], body };
const session = payload.event.session_variables;

// The transform gives what the test expects (a benchmark of a broken transform measures nothing).
const check = applyRequestTransform(rt, req, session);
if (check.url !== 'http://127.0.0.1:9/hook/links/7?op=update' || !check.body.includes('"link.updated"')) throw new Error(`unexpected transform: ${JSON.stringify(check)}`);

let sink = 0;
const variants: Record<string, () => void> = {
  baseline: () => {
    sink += JSON.stringify(JSON.parse(body)).length;
  },
  transformed: () => {
    sink += applyRequestTransform(rt, req, session).body.length;
  },
  'parse only': () => {
    sink += parseKriti(bodyTemplate) ? 1 : 0;
  },
};
const names = Object.keys(variants);
const perRound: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
for (const n of names) for (let i = 0; i < 2000; i++) variants[n]!(); // warm-up
for (let r = 0; r < ROUNDS; r++) {
  const order = names.map((_, i) => names[(i + r) % names.length]!);
  for (const n of order) {
    const f = variants[n]!;
    const t = process.hrtime.bigint();
    for (let i = 0; i < OPS; i++) f();
    perRound[n]!.push(Number(process.hrtime.bigint() - t) / 1000 / OPS);
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const base = median(perRound.baseline!);
console.log(`bench:transforms — ${ROUNDS} rounds × ${OPS} ops, alternating order (sink ${sink % 10})`);
for (const n of names) {
  const m = median(perRound[n]!);
  console.log(`  ${n.padEnd(12)} ${m.toFixed(2).padStart(8)} µs/op  (${(m / base).toFixed(1)}× baseline; rounds ${perRound[n]!.map((x) => x.toFixed(1)).join(' ')})`);
}
