import type { SearchPosition } from "./delivery-types";

// The order deliveries are listed and replayed in across endpoints (SPEC §11), shared by both backends.

/** byPosition orders (created_at, id) ascending, ids compared as bytes as both backends' indexes do. */
export const byPosition = (a: SearchPosition, b: SearchPosition): number =>
  a.created_at - b.created_at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** newestFirst merges per-status pages read newest first and keeps the first `limit`. */
export function newestFirst<T extends SearchPosition>(pages: T[][], limit: number): T[] {
  return pages.flat().sort((a, b) => byPosition(b, a)).slice(0, limit);
}

/**
 * mergeStep takes the first `limit` of per-status walks read oldest first (each at most `limit` long);
 * the next step starts after the last one taken when more may follow, else `next` is null.
 */
export function mergeStep<T extends SearchPosition>(walks: T[][], limit: number): { taken: T[]; next: SearchPosition | null } {
  const taken = walks.flat().sort(byPosition).slice(0, limit);
  const last = taken.at(-1);
  return { taken, next: taken.length === limit && last ? { created_at: last.created_at, id: last.id } : null };
}
