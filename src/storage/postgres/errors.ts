import { guardedStore } from "../guarded";
import { StorageUnavailableError } from "../types";

// SQLSTATEs that mean "the database cannot do this right now", worth a 503 and a retry: connection
// exceptions (08), insufficient resources (53: too many connections, disk full), shutdown / crash /
// cannot connect now (57P01–57P05), a lock or statement timeout (55P03, 57014: another node held a row
// too long), a deadlock or serialization failure (40P01, 40001), a read-only server (25006: a standby
// after failover).
const OUTAGE_STATES = /^(08|53|57P0|55P03$|57014$|40P01$|40001$|25006$)/;
// Bun's own codes for a connection it could not open or lost.
const OUTAGE_CODES = /^ERR_POSTGRES_(CONNECTION_CLOSED|CONNECTION_REFUSED|CONNECTION_TIMEOUT|IDLE_TIMEOUT|LIFETIME_TIMEOUT|TLS|UNSUPPORTED_AUTHENTICATION|SERVER_CLOSED)/;
const NET_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "EHOSTUNREACH", "ENETUNREACH", "ENOTFOUND", "EAI_AGAIN"]);

/** isOutage: the error says the database is unreachable or refusing work, not that the statement was wrong. */
export function isOutage(error: unknown): boolean {
  const e = error as { code?: unknown; errno?: unknown } | null;
  if (typeof e?.errno === "string" && OUTAGE_STATES.test(e.errno)) return true;
  if (typeof e?.code === "string" && (OUTAGE_CODES.test(e.code) || NET_CODES.has(e.code))) return true;
  return false;
}

/** toStorageError turns PostgreSQL outages into StorageUnavailableError; everything else passes through. */
export function toStorageError(error: unknown): unknown {
  if (error instanceof StorageUnavailableError || !isOutage(error)) return error;
  const e = error as { code?: string; errno?: string; message?: string };
  return new StorageUnavailableError(`${e.errno ?? e.code}: ${e.message ?? String(error)}`, { cause: error });
}

/** guarded wraps a store's async methods so their failures come out storage-neutral (outages as StorageUnavailableError). */
export function guarded<T extends object>(store: T): T {
  return guardedStore(store, toStorageError) as T;
}
