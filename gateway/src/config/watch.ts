/**
 * Hot reload: fs.watch on the directory, debounced (Traefik's file provider watches with fsnotify
 * and throttles via providersThrottleDuration, 2 s by default). A file that fails to load is
 * reported and the last good configuration keeps serving.
 */
import fs from 'node:fs';
import type { DynamicConfig } from './schema.ts';
import { ConfigLoadError, loadDynamicDir, type ConfigIssue } from './load.ts';

export interface WatchHandlers {
  onConfig(config: DynamicConfig): void;
  onInvalid(issues: ConfigIssue[]): void;
}

export function watchDynamicDir(dir: string, env: Record<string, string | undefined>, debounceMs: number, handlers: WatchHandlers): () => void {
  let timer: NodeJS.Timeout | undefined;
  let running = Promise.resolve();
  const reload = () => {
    running = running.then(async () => {
      try {
        handlers.onConfig(await loadDynamicDir(dir, env));
      } catch (err) {
        handlers.onInvalid(err instanceof ConfigLoadError ? err.issues : [{ file: dir, path: '', message: (err as Error).message }]);
      }
    });
  };
  const watcher = fs.watch(dir, () => {
    clearTimeout(timer);
    timer = setTimeout(reload, debounceMs);
  });
  watcher.on('error', () => {});
  return () => {
    clearTimeout(timer);
    watcher.close();
  };
}
