/** Async is a store whose methods answer with Promises (the storage contract) whatever the driver does. */
export type Async<T> = { [K in keyof T]: T[K] extends (...args: infer A) => infer R ? (...args: A) => Promise<Awaited<R>> : T[K] };

/**
 * guardedStore makes every method of a store async, its failures passed through `toStorageError`
 * (each backend's mapping of its driver's outage errors to StorageUnavailableError).
 */
export function guardedStore<T extends object>(store: T, toStorageError: (error: unknown) => unknown): Async<T> {
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
  return out as Async<T>;
}

/** countBy counts rows per key (several leases of one endpoint settle its ready row once). */
export function countBy<T>(rows: readonly T[], key: (row: T) => string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const row of rows) counts.set(key(row), (counts.get(key(row)) ?? 0) + 1);
  return counts;
}
