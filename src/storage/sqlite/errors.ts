import { type Async, guardedStore } from "../guarded";
import { StorageUnavailableError } from "../types";

const OUTAGE_CODES = /^SQLITE_(BUSY|LOCKED|IOERR|FULL|READONLY|CANTOPEN|CORRUPT|NOTADB|PROTOCOL|PERM|NOMEM|INTERRUPT)/;

/** isBusy: another connection holds the write lock (worth waiting for). */
export function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && (code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED"));
}

/** toStorageError turns SQLite's outage codes (locked, disk full, I/O error) into the backend-neutral StorageUnavailableError. */
export function toStorageError(error: unknown): unknown {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === "string" && OUTAGE_CODES.test(code)) {
    return new StorageUnavailableError(`${code}: ${(error as Error).message}`, { cause: error });
  }
  return error;
}

/** guarded makes every method of a synchronous store async, its failures coming out as storage-neutral errors. */
export function guarded<T extends object>(store: T): Async<T> {
  return guardedStore(store, toStorageError);
}
