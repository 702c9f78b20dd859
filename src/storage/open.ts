import type { Clock } from "../clock";
import { maskDatabaseUrl } from "../config/storage";
import type { StorageConfig } from "../config/types";
import type { Database } from "bun:sqlite";
import { requireCurrentSchema } from "./sqlite/migrate";
import { openPostgresStorage } from "./postgres/storage";
import { acquireServeLock, openDatabase } from "./sqlite/open";
import { openSqliteStorage, type StorageOptions } from "./sqlite/storage";
import type { Storage } from "./types";

/** StorageOpenError: the database could not be opened or is held by another `serve` (exit 1, not a config error). */
export class StorageOpenError extends Error {
  override readonly name = "StorageOpenError";
}

/** OpenedStorage is a backend plus what opening it did. */
export type OpenedStorage = Storage & { readonly migrationsApplied: number[] };

/** OpenOptions: the backend-neutral hooks, plus the node id PostgreSQL leases and notifications carry. */
export interface OpenOptions extends StorageOptions {
  readonly nodeId: string;
}

/**
 * openStorage opens the configured backend for `serve`. On SQLite it first takes the serve lock (one
 * `serve` per database file) and releases it again when the storage is closed; on PostgreSQL any number
 * of nodes share the database, told apart by `nodeId`.
 */
export async function openStorage(location: StorageConfig, clock: Clock, options: OpenOptions): Promise<OpenedStorage> {
  if (location.backend === "postgres") return openPostgres(location.url, clock, options);
  return openSqlite(location.path, clock, options);
}

/** openPostgres opens a PostgreSQL database; errors name it with the password masked, and never echo the password. */
export async function openPostgres(url: string, clock: Clock, options: OpenOptions): Promise<OpenedStorage> {
  const { route, alerts, onBatch, onEnqueued, onEventStored, groupCommitMaxBatch, nodeId } = options;
  try {
    return await openPostgresStorage(url, clock, { route, alerts, onBatch, onEnqueued, onEventStored, groupCommitMaxBatch, nodeId });
  } catch (error) {
    throw new StorageOpenError(`cannot open the database ${maskDatabaseUrl(url)}: ${withoutPassword((error as Error).message, url)}`);
  }
}

/** withoutPassword removes the URL's password from a driver's message, in case the driver quotes it. */
export function withoutPassword(message: string, url: string): string {
  const parsed = URL.parse(url);
  const secrets = [parsed?.password ?? "", ...[...(parsed?.searchParams ?? [])].filter(([k]) => /pass/i.test(k)).map(([, v]) => v)];
  let out = message.replaceAll(url, maskDatabaseUrl(url));
  for (const secret of secrets.filter((s) => s.length > 0)) {
    for (const form of [secret, decoded(secret)]) out = out.replaceAll(form, "********");
  }
  return out;
}

function decoded(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function openSqlite(path: string, clock: Clock, options: StorageOptions): OpenedStorage {
  let lock: ReturnType<typeof acquireServeLock>;
  try {
    lock = acquireServeLock(path);
  } catch (error) {
    throw new StorageOpenError(`cannot use the database directory of ${path}: ${(error as Error).message}`);
  }
  if (!lock) throw new StorageOpenError(`another hookd serve is already using the database ${path}`);
  let storage: ReturnType<typeof openSqliteStorage>;
  try {
    storage = openSqliteStorage(path, clock, options);
  } catch (error) {
    lock.release();
    throw new StorageOpenError(`cannot open the database ${path}: ${(error as Error).message}`);
  }
  const held = lock;
  return {
    ...storage,
    close: async () => {
      try {
        await storage.close();
      } finally {
        held.release();
      }
    },
  };
}

/**
 * openBesideServer opens the database for a maintenance command run next to `serve` (cleanup). SQLite:
 * the existing database, nothing created or migrated, no serve lock. PostgreSQL: as one more node under
 * its own id, so that nothing it does can be mistaken for the leases of `nodeId` itself.
 */
export async function openBesideServer(location: StorageConfig, clock: Clock, nodeId: string): Promise<Storage> {
  if (location.backend === "postgres") return openPostgres(location.url, clock, { nodeId: `${nodeId}/maintenance` });
  return openSqliteStorage(location.path, clock, { blockingBusyMs: 5000, besideServer: true });
}

/** ExclusiveSqlite is a SQLite database opened for copy-storage with its serve lock held: no `serve` writes meanwhile. */
export interface ExclusiveSqlite {
  readonly db: Database;
  close(): void;
}

/**
 * openSqliteExclusive opens the existing database at `path` (never created, never migrated: it must have
 * this binary's schema) and takes its serve lock; null when a running `serve` holds the lock.
 */
export function openSqliteExclusive(path: string): ExclusiveSqlite | null {
  const db = openDatabase(path, 5000, false);
  try {
    requireCurrentSchema(db);
    const lock = acquireServeLock(path);
    if (lock === null) {
      db.close();
      return null;
    }
    return {
      db,
      close() {
        lock.release();
        db.close();
      },
    };
  } catch (error) {
    db.close();
    throw error;
  }
}
