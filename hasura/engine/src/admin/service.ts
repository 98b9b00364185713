/**
 * The live metadata: what is stored, what the engine serves (the consistent part), and the one
 * path every change takes — edit a copy, check it against the database, `engine.reload`, persist.
 * Changes are serialised (Hasura takes a metadata lock for the same reason).
 */
import type pg from 'pg';
import type { GraphQLEngine, Metadata } from '../contract.ts';
import { cloneMetadata, normalizeMetadata } from '../metadata/model.ts';
import type { MetadataStore } from '../metadata/store.ts';
import { QErr } from '../errors.ts';
import { checkConsistency, newInconsistencyError, type InconsistentObject } from './consistency.ts';
import { roleCycles } from '../schema/resolve-metadata.ts';
import { inheritedPermissionInconsistency } from '../schema/model.ts';

export interface ApplyOptions {
  /** Keep inconsistent objects (replace_metadata with allow_inconsistent_metadata, run_sql). */
  allowInconsistent?: boolean;
  /** Rebuild the engine even if the metadata did not change (DDL ran). */
  forceReload?: boolean;
  /** The object the command defines, to word a refusal as Hasura does (consistency.ts `newInconsistencyError`). */
  target?: string;
  /** A consistency check of this metadata (JSON of the normalized form) already made on the committed database state. */
  checked?: { metadata: string; result: Awaited<ReturnType<typeof checkConsistency>> };
}

export class MetadataService {
  readonly pool: pg.Pool;
  private readonly store: MetadataStore;
  private engine: GraphQLEngine;
  private metadata: Metadata;
  private resourceVersion: number;
  private inconsistentObjects: InconsistentObject[] = [];
  private queue: Promise<unknown> = Promise.resolve();

  constructor(opts: { pool: pg.Pool; store: MetadataStore; engine: GraphQLEngine; metadata: Metadata; resourceVersion: number }) {
    this.pool = opts.pool;
    this.store = opts.store;
    this.engine = opts.engine;
    this.metadata = opts.metadata;
    this.resourceVersion = opts.resourceVersion;
  }

  get current(): Metadata {
    return cloneMetadata(this.metadata);
  }
  get version(): number {
    return this.resourceVersion;
  }
  get inconsistent(): InconsistentObject[] {
    return this.inconsistentObjects;
  }
  get graphql(): GraphQLEngine {
    return this.engine;
  }

  /** Runs `fn` alone (no other change interleaves). */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /**
   * Makes `next` the metadata. New inconsistencies are refused unless allowed (Hasura answers
   * `invalid-configuration` "Inconsistent object: …" and keeps the old metadata).
   * Call inside `exclusive`.
   */
  async commit(next: Metadata, opts: ApplyOptions = {}): Promise<InconsistentObject[]> {
    const normalized = normalizeMetadata(next);
    // Roles inheriting from each other in a cycle make the whole metadata unusable: refused even
    // with allow_inconsistent_metadata (Schema/Cache/Permission.hs `orderRoles` throws).
    const cycles = roleCycles(normalized);
    if (cycles.length > 0) throw new QErr('cyclic-dependency', `found cycle(s) in roles: ${cycles.map((c) => JSON.stringify(c)).join(', ')}`, '$.args', undefined, 400);
    const changed = JSON.stringify(normalized) !== JSON.stringify(normalizeMetadata(this.metadata));
    if (!changed && !opts.forceReload) return this.inconsistentObjects;
    const { effective, inconsistent } = opts.checked && opts.checked.metadata === JSON.stringify(normalized)
      ? opts.checked.result
      : await checkConsistency(this.pool, normalized);
    if (!opts.allowInconsistent) {
      const before = new Set(this.inconsistentObjects.map((o) => o.name));
      const fresh = inconsistent.filter((o) => !before.has(o.name));
      if (fresh.length > 0) {
        throw newInconsistencyError(fresh, opts.target);
      }
    }
    const restore = async () => {
      await this.engine.reload((await checkConsistency(this.pool, this.metadata)).effective).catch(() => undefined);
    };
    try {
      await this.engine.reload(effective, { refresh: opts.forceReload });
    } catch (err) {
      // The engine refused the new metadata: give it the old one back, report the reason.
      await restore();
      throw new QErr('invalid-configuration', `Inconsistent object: ${(err as Error).message}`, '$.args');
    }
    const all = [...inconsistent, ...(this.engine.inconsistencies?.() ?? [])];
    if (!opts.allowInconsistent) {
      // Objects only the engine can judge (functions, computed fields, relationship constraints)
      // are refused the same way (e.g. v1/relationships/object_relationship_col_not_foreign_key_error.yaml).
      const before = new Set(this.inconsistentObjects.map((o) => o.name));
      const fresh = all.filter((o) => !before.has(o.name) && o.type !== inheritedPermissionInconsistency);
      if (fresh.length > 0) {
        await restore();
        throw newInconsistencyError(fresh, opts.target);
      }
    }
    this.inconsistentObjects = all;
    if (changed) {
      this.metadata = normalized;
      this.resourceVersion = await this.store.save(normalized);
    }
    return inconsistent;
  }

  /** reload_metadata: re-read the database, rebuild, report consistency. */
  async reload(): Promise<InconsistentObject[]> {
    const { effective, inconsistent } = await checkConsistency(this.pool, this.metadata);
    await this.engine.reload(effective, { refresh: true });
    this.inconsistentObjects = [...inconsistent, ...(this.engine.inconsistencies?.() ?? [])];
    return this.inconsistentObjects;
  }

  checkResourceVersion(given: unknown): void {
    if (typeof given === 'number' && given !== this.resourceVersion) {
      throw new QErr(
        'conflict',
        `metadata resource version referenced (${given}) did not match current version`,
        '$',
      );
    }
  }
}
