/**
 * Loads a dynamic-configuration directory the way Traefik's file provider does
 * (src `pkg/provider/file/file.go`): every `.yml`/`.yaml` file, rendered as a template first
 * (template.ts), parsed, then merged. Differences, on purpose: an element defined in two files is
 * an error (Traefik logs and drops it), and every problem is reported at once as
 * { file, path, message } so a bad edit can be refused while the last good config keeps serving.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import YAML from 'yaml';
import { renderTemplate, TemplateError } from './template.ts';
import { dynamicFileSchema, type DynamicConfig } from './schema.ts';
import { compileRule } from '../rules/matcher.ts';
import { goRegExp } from '../rules/matcher.ts';
import { ipMatcher } from '../proxy/ip.ts';

export interface ConfigIssue {
  file: string;
  path: string;
  message: string;
}

export class ConfigLoadError extends Error {
  readonly code = 'GATEWAY_CONFIG_INVALID';
  readonly issues: ConfigIssue[];
  constructor(issues: ConfigIssue[]) {
    super(`invalid dynamic configuration:\n  ${issues.map((i) => `${i.file}: ${i.path || '(root)'}: ${i.message}`).join('\n  ')}`);
    this.name = 'ConfigLoadError';
    this.issues = issues;
  }
}

export interface SourceFile {
  name: string;
  text: string;
}

type Env = Record<string, string | undefined>;
type Kind = keyof DynamicConfig;

/** Strips the `@file` provider suffix; other providers cannot be resolved by the file provider. */
export function localName(ref: string): string | undefined {
  const at = ref.lastIndexOf('@');
  if (at === -1) return ref;
  return ref.slice(at + 1) === 'file' ? ref.slice(0, at) : undefined;
}

function parseOne(file: SourceFile, env: Env, issues: ConfigIssue[]) {
  let text: string;
  try {
    text = renderTemplate(file.text, env);
  } catch (err) {
    issues.push({ file: file.name, path: `(template${err instanceof TemplateError ? ` line ${err.line}` : ''})`, message: (err as Error).message });
    return undefined;
  }
  const doc = YAML.parseDocument(text, { prettyErrors: false });
  if (doc.errors.length > 0) {
    for (const e of doc.errors) issues.push({ file: file.name, path: `(yaml line ${e.linePos?.[0].line ?? '?'})`, message: e.message.split('\n')[0] ?? e.message });
    return undefined;
  }
  const parsed = dynamicFileSchema.safeParse(doc.toJS() ?? {});
  if (!parsed.success) {
    for (const i of parsed.error.issues) issues.push({ file: file.name, path: i.path.map(String).join('.'), message: i.message });
    return undefined;
  }
  return parsed.data;
}

function checkReferences(cfg: DynamicConfig, issues: ConfigIssue[]): void {
  const mwRef = (ref: string, file: string, at: string) => {
    const name = localName(ref);
    if (name === undefined) issues.push({ file, path: at, message: `middleware "${ref}": only the file provider is available` });
    else if (!cfg.middlewares[name]) issues.push({ file, path: at, message: `middleware "${ref}" does not exist` });
  };
  for (const [name, r] of Object.entries(cfg.routers)) {
    const at = `http.routers.${name}`;
    try {
      compileRule(r.rule);
    } catch (err) {
      issues.push({ file: r.file, path: `${at}.rule`, message: (err as Error).message });
    }
    const svc = localName(r.service);
    if (svc === undefined || !cfg.services[svc]) issues.push({ file: r.file, path: `${at}.service`, message: `service "${r.service}" does not exist` });
    r.middlewares.forEach((m, i) => mwRef(m, r.file, `${at}.middlewares.${i}`));
  }
  for (const [name, m] of Object.entries(cfg.middlewares)) {
    const at = `http.middlewares.${name}`;
    m.chain?.middlewares.forEach((ref, i) => mwRef(ref, m.file, `${at}.chain.middlewares.${i}`));
    const regexes: Array<[string, string]> = [];
    if (m.forwardAuth?.authResponseHeadersRegex) regexes.push([`${at}.forwardAuth.authResponseHeadersRegex`, m.forwardAuth.authResponseHeadersRegex]);
    m.headers?.accessControlAllowOriginListRegex?.forEach((re, i) => regexes.push([`${at}.headers.accessControlAllowOriginListRegex.${i}`, re]));
    for (const [p, re] of regexes) {
      try {
        goRegExp(re);
      } catch (err) {
        issues.push({ file: m.file, path: p, message: (err as Error).message });
      }
    }
    const excluded = m.rateLimit?.sourceCriterion?.ipStrategy?.excludedIPs;
    if (excluded) {
      try {
        ipMatcher(excluded);
      } catch (err) {
        issues.push({ file: m.file, path: `${at}.rateLimit.sourceCriterion.ipStrategy.excludedIPs`, message: (err as Error).message });
      }
    }
    if (m.forwardAuth && m.forwardAuth.forwardBody && m.forwardAuth.maxBodySize === 0) {
      issues.push({ file: m.file, path: `${at}.forwardAuth.maxBodySize`, message: 'must not be 0 with forwardBody' });
    }
  }
  // chain cycles (Traefik: "recursion detected")
  const visiting = new Set<string>();
  const visit = (name: string, trail: string[]): void => {
    const m = cfg.middlewares[name];
    if (!m?.chain) return;
    if (visiting.has(name)) {
      issues.push({ file: m.file, path: `http.middlewares.${name}.chain`, message: `recursion detected in ${[...trail, name].join(' -> ')}` });
      return;
    }
    visiting.add(name);
    for (const ref of m.chain.middlewares) {
      const n = localName(ref);
      if (n) visit(n, [...trail, name]);
    }
    visiting.delete(name);
  };
  for (const name of Object.keys(cfg.middlewares)) visit(name, []);
  for (const [name, s] of Object.entries(cfg.services)) {
    const t = s.loadBalancer.serversTransport;
    if (t !== undefined && (localName(t) === undefined || !cfg.serversTransports[localName(t) as string])) {
      issues.push({ file: s.file, path: `http.services.${name}.loadBalancer.serversTransport`, message: `serversTransport "${t}" does not exist` });
    }
  }
}

/** Parses, merges and validates a set of files; throws ConfigLoadError listing every problem. */
export function parseDynamicFiles(files: SourceFile[], env: Env): DynamicConfig {
  const issues: ConfigIssue[] = [];
  const cfg: DynamicConfig = { routers: {}, middlewares: {}, services: {}, serversTransports: {} };
  for (const file of files) {
    const data = parseOne(file, env, issues);
    if (!data?.http) continue;
    for (const kind of ['routers', 'middlewares', 'services', 'serversTransports'] as Kind[]) {
      for (const [name, value] of Object.entries(data.http[kind] ?? {})) {
        const existing = cfg[kind][name];
        if (existing) {
          issues.push({ file: file.name, path: `http.${kind}.${name}`, message: `already defined in ${existing.file}` });
          continue;
        }
        (cfg[kind] as Record<string, unknown>)[name] = { ...value, file: file.name };
      }
    }
  }
  if (issues.length === 0) checkReferences(cfg, issues);
  if (issues.length > 0) throw new ConfigLoadError(issues);
  return cfg;
}

/** Reads every `.yml`/`.yaml` file of `dir` (sorted by name) and parses them together. */
export async function loadDynamicDir(dir: string, env: Env): Promise<DynamicConfig> {
  const names = (await fs.readdir(dir)).filter((n) => /\.ya?ml$/.test(n) && !n.startsWith('.')).sort();
  const files = await Promise.all(names.map(async (name) => ({ name, text: await fs.readFile(path.join(dir, name), 'utf8') })));
  return parseDynamicFiles(files, env);
}
