/**
 * Reading Prometheus text exposition (format 0.0.4) back: what the metrics tests and `npm start`'s
 * smoke checks need to assert exact values after known traffic. Only samples are kept (HELP/TYPE
 * comments are skipped); label values are unescaped per the format (\\, \", \n).
 */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export function parseExposition(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const brace = line.indexOf('{');
    const space = line.lastIndexOf(' ');
    let name: string;
    const labels: Record<string, string> = {};
    if (brace !== -1 && brace < space) {
      name = line.slice(0, brace);
      const body = line.slice(brace + 1, line.lastIndexOf('}'));
      const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
      for (let m = re.exec(body); m; m = re.exec(body)) {
        labels[m[1]!] = m[2]!.replace(/\\(.)/g, (_s, c: string) => (c === 'n' ? '\n' : c));
      }
    } else {
      name = line.slice(0, space);
    }
    const raw = line.slice(space + 1);
    out.push({ name, labels, value: raw === '+Inf' ? Infinity : raw === '-Inf' ? -Infinity : Number(raw) });
  }
  return out;
}

/**
 * The sum of every sample of `name` whose labels include `match` (0 when none): a counter with
 * some labels pinned and the rest summed, as `sum(name{match})` would in PromQL.
 */
export function sampleValue(text: string | Sample[], name: string, match: Record<string, string> = {}): number {
  const samples = typeof text === 'string' ? parseExposition(text) : text;
  let total = 0;
  for (const s of samples) {
    if (s.name !== name) continue;
    if (Object.entries(match).every(([k, v]) => s.labels[k] === v)) total += s.value;
  }
  return total;
}

/** GETs a `/metrics` URL and returns its samples. */
export async function scrape(url: string): Promise<Sample[]> {
  const res = await fetch(url);
  if (res.status !== 200) throw new Error(`${url}: HTTP ${res.status}`);
  return parseExposition(await res.text());
}
