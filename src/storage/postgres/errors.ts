import { StorageUnavailableError } from "../types";

// SQLSTATE classes that mean "the database is not there right now": connection exceptions (08),
// insufficient resources (53: too many connections, disk full), and shutdown / crash / cannot connect now (57P01–57P05).
const OUTAGE_STATES = /^(08|53|57P0)/;
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

/** Async store methods whose failures come out storage-neutral. */
export function guarded<T extends object>(store: T): T {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(store)) {
    out[name] =
      typeof value === "function"
        ? async (...args: unknown[]) => {
            try {
              return await (value as (...a: unknown[]) => unknown)(...args);
            } catch (error) {
              throw toStorageError(error);
            }
          }
        : value;
  }
  return out as T;
}
