import type { SQL } from "bun";

/** Db is any Bun SQL client: the pool, a reserved connection, or a transaction's client. */
export type Db = SQL;

type Param = string | number | boolean | null;

// The pool is opened with `bigint: true` so int8 (every time in ms, COUNT) never arrives as a string;
// every value hookd stores is far below 2^53, so rows are handed on as plain numbers.
function plain<T>(row: Record<string, unknown>): T {
  for (const key of Object.keys(row)) if (typeof row[key] === "bigint") row[key] = Number(row[key]);
  return row as T;
}

/** rows runs one parameterised statement ($1, $2, …) and returns its rows with int8 as numbers. */
export async function rows<T>(db: Db, text: string, params: readonly Param[] = []): Promise<T[]> {
  const result = (await db.unsafe(text, params as Param[])) as Record<string, unknown>[];
  return Array.from(result, (r) => plain<T>(r));
}

/** one returns the first row, or null. */
export async function one<T>(db: Db, text: string, params: readonly Param[] = []): Promise<T | null> {
  return (await rows<T>(db, text, params))[0] ?? null;
}

/** run executes a statement and returns how many rows it changed. */
export async function run(db: Db, text: string, params: readonly Param[] = []): Promise<number> {
  const result = (await db.unsafe(text, params as Param[])) as { count?: number | null };
  return result.count ?? 0;
}
