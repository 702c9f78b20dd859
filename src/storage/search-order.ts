import type { SearchPosition } from "./delivery-types";

// The order deliveries are listed and replayed in across endpoints (SPEC §11), shared by both backends.

/**
 * EXAMINE_CAP is how many index entries one call may read of a status range it cannot narrow by its
 * filter (a pending or delivered range read off deliveries_status, checking the endpoint or type row by
 * row). Measured on SQLite at 1M deliveries (900 000 delivered, warm cache), reading 10 000 entries and
 * their rows takes about 3 ms, 20 000 about 6 ms; at most two ranges of a call are bounded this way
 * (pending and delivered), so a call holds the event loop for ≲ 10 ms whatever the filter matches.
 * DeliveryFilter.examine overrides it (the contract tests use a small one).
 */
export const EXAMINE_CAP = 10_000;

/** examineCap is the filter's cap (tests) or EXAMINE_CAP; at least 1, so a walk always moves on. */
export function examineCap(filter: { examine?: number }): number {
  const cap = filter.examine ?? EXAMINE_CAP;
  return Number.isFinite(cap) ? Math.max(1, Math.floor(cap)) : EXAMINE_CAP;
}

/** RangeRead is one status range as read: its rows in the walk's order, and its horizon when the read was bounded. */
export interface RangeRead<T extends SearchPosition> {
  rows: T[];
  /**
   * horizon: when the range held more than the cap's entries from where the call started (whatever the
   * filter), the position of the last one it examined (inclusive); nothing beyond it was looked at.
   */
  horizon: SearchPosition | null;
}

/** byPosition orders (created_at, id) ascending, ids compared as bytes as both backends' indexes do. */
export const byPosition = (a: SearchPosition, b: SearchPosition): number =>
  a.created_at - b.created_at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

const positionOf = (p: SearchPosition): SearchPosition => ({ created_at: p.created_at, id: p.id });

/**
 * merge takes the first `limit` of per-status ranges (each read with the same `limit`) in `order`. A
 * bounded range that came back with fewer than `limit` rows knows nothing beyond its horizon, so the
 * result stops at the nearest such horizon: rows of other ranges beyond it are left for the next call,
 * which starts after the last row taken when `limit` were taken, else after that horizon (the result
 * may then be short, even empty, with more to come). `next` is null when every range was read to its end.
 */
function merge<T extends SearchPosition>(ranges: RangeRead<T>[], limit: number, order: (a: SearchPosition, b: SearchPosition) => number) {
  const stop = ranges.flatMap((r) => (r.horizon !== null && r.rows.length < limit ? [r.horizon] : [])).sort(order)[0] ?? null;
  const rows = ranges.flatMap((r) => r.rows).filter((row) => stop === null || order(row, stop) <= 0).sort(order).slice(0, limit);
  const last = rows.at(-1);
  return { rows, next: rows.length === limit && last ? positionOf(last) : stop && positionOf(stop) };
}

/**
 * newestFirst merges per-status ranges read newest first into one page of at most `limit`, and where
 * the next page starts (exclusive): the last row when the page is full, a horizon when one cut it
 * short, null when nothing more matches.
 */
export function newestFirst<T extends SearchPosition>(ranges: RangeRead<T>[], limit: number): { rows: T[]; resumeAfter: SearchPosition | null } {
  const { rows, next } = merge(ranges, limit, (a, b) => byPosition(b, a));
  return { rows, resumeAfter: next };
}

/**
 * mergeStep takes the first `limit` of per-status walks read oldest first (each at most `limit` long);
 * the next step starts after the last one taken when `limit` were, after a horizon when one cut the
 * step short, else `next` is null.
 */
export function mergeStep<T extends SearchPosition>(walks: RangeRead<T>[], limit: number): { taken: T[]; next: SearchPosition | null } {
  const { rows, next } = merge(walks, limit, byPosition);
  return { taken: rows, next };
}

/**
 * Edge is one end of a range scan: a time alone (since, until) or a delivery's position (a cursor, a
 * horizon), inclusive or not.
 */
export interface Edge {
  created_at: number;
  id?: string;
  inclusive: boolean;
}

/**
 * edgesOf gives a range its one lower and one upper end: of the filter's since/until and the position
 * the walk starts after (`at`) or stops at (`horizon`, inclusive), the tighter on each side, the other
 * being implied. A scan then starts and stops at the right place: SQLite uses one plain created_at
 * bound per side for its index range (given two, it may range over the looser one and filter the rest).
 */
export function edgesOf(
  filter: { since?: number; until?: number }, desc: boolean, at: SearchPosition | undefined, horizon: SearchPosition | undefined,
): { lower: Edge | null; upper: Edge | null } {
  const start = at && { created_at: at.created_at, id: at.id, inclusive: false };
  const stop = horizon && { created_at: horizon.created_at, id: horizon.id, inclusive: true };
  const lowRow = desc ? stop : start;
  const highRow = desc ? start : stop;
  const since = filter.since === undefined ? undefined : { created_at: filter.since, inclusive: true };
  const until = filter.until === undefined ? undefined : { created_at: filter.until, inclusive: false };
  // A position at or after `since` implies it; one before `until` implies that.
  const lower = lowRow && (since === undefined || lowRow.created_at >= since.created_at) ? lowRow : since;
  const upper = highRow && (until === undefined || highRow.created_at < until.created_at) ? highRow : until;
  return { lower: lower ?? null, upper: upper ?? null };
}
