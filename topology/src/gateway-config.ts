/**
 * The gateway's dynamic files for the topology: gateway/dynamic/*.yml with each service's single
 * `{{ env "X_URL" }}` server replaced by its N replicas, a Traefik `loadBalancer.healthCheck` on
 * their readiness path, and a `retry` middleware last in every router's chain (so a replica that
 * dies between two health checks costs an idempotent request a second try, not a 502). Written as
 * text so comments and templates elsewhere stay as they are.
 */
import fs from 'node:fs';
import path from 'node:path';

export interface ServiceServers {
  /** The template variable the shipped file names (REDIRECT_URL, CORE_URL…). */
  envName: string;
  urls: string[];
  healthPath: string;
}

export const RETRY_MIDDLEWARE = 'topology-retry';

export function renderDynamicFile(text: string, services: ServiceServers[], opts: { interval?: string; timeout?: string } = {}): string {
  let out = text;
  for (const s of services) {
    const re = new RegExp(`^( *)servers:\\n\\1  - url: '\\{\\{ env "${s.envName}" \\}\\}'$`, 'm');
    out = out.replace(re, (_m, indent: string) => {
      const lines = [`${indent}servers:`, ...s.urls.map((u) => `${indent}  - url: '${u}'`)];
      lines.push(`${indent}healthCheck:`, `${indent}  path: ${s.healthPath}`, `${indent}  interval: ${opts.interval ?? '1s'}`, `${indent}  timeout: ${opts.timeout ?? '500ms'}`);
      return lines.join('\n');
    });
  }
  // router-level lists only (6 spaces); chains' own lists are deeper
  out = out.replace(/^( {6}middlewares: \[)([^\]]*)\]/gm, (_m, head: string, list: string) => `${head}${list.trim() ? `${list}, ` : ''}${RETRY_MIDDLEWARE}]`);
  return out;
}

export function writeDynamicDir(fromDir: string, toDir: string, services: ServiceServers[]): void {
  fs.rmSync(toDir, { recursive: true, force: true });
  fs.mkdirSync(toDir, { recursive: true });
  for (const name of fs.readdirSync(fromDir).filter((n) => n.endsWith('.yml') || n.endsWith('.yaml'))) {
    fs.writeFileSync(path.join(toDir, name), renderDynamicFile(fs.readFileSync(path.join(fromDir, name), 'utf8'), services));
  }
  // Traefik's retry (docs/research/traefik-v3.md §1.5): 3 tries, 50 ms then 75 ms apart.
  fs.writeFileSync(path.join(toDir, 'topology.yml'), `# written by npm run topology\nhttp:\n  middlewares:\n    ${RETRY_MIDDLEWARE}:\n      retry:\n        attempts: 3\n        initialInterval: 50ms\n`);
}
