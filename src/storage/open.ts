import type { Clock } from "../clock";
import { acquireServeLock } from "./sqlite/open";
import { openSqliteStorage, type StorageOptions } from "./sqlite/storage";
import type { Storage } from "./types";

/** StorageLocation is `[storage]` as configured. */
export interface StorageLocation {
  readonly path: string;
}

/** StorageOpenError: the database could not be opened or is held by another `serve` (exit 1, not a config error). */
export class StorageOpenError extends Error {
  override readonly name = "StorageOpenError";
}

/** OpenedStorage is a backend plus what opening it did. */
export type OpenedStorage = Storage & { readonly migrationsApplied: number[] };

/**
 * openStorage opens the configured backend for `serve`: on SQLite it first takes the serve lock (one
 * `serve` per database file), and it releases the lock again when the storage is closed.
 */
export function openStorage(location: StorageLocation, clock: Clock, options: StorageOptions = {}): OpenedStorage {
  let lock: ReturnType<typeof acquireServeLock>;
  try {
    lock = acquireServeLock(location.path);
  } catch (error) {
    throw new StorageOpenError(`cannot use the database directory of ${location.path}: ${(error as Error).message}`);
  }
  if (!lock) throw new StorageOpenError(`another hookd serve is already using the database ${location.path}`);
  let storage: ReturnType<typeof openSqliteStorage>;
  try {
    storage = openSqliteStorage(location.path, clock, options);
  } catch (error) {
    lock.release();
    throw new StorageOpenError(`cannot open the database ${location.path}: ${(error as Error).message}`);
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

/** openBesideServer opens an existing database for a maintenance command run next to `serve`; nothing is created or migrated. */
export function openBesideServer(location: StorageLocation, clock: Clock): Storage {
  return openSqliteStorage(location.path, clock, { blockingBusyMs: 5000, besideServer: true });
}
