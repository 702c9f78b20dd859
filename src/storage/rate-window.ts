// An endpoint's rate-limit window (SPEC §9 `rate_limit`), kept on its ready row as text: pure, so the
// claim only reads and writes one column under the ready-row lock it already holds. Both backends use it.

/**
 * WINDOW_MS is the sliding window: a claim at t counts against every claim before t + WINDOW_MS. It is
 * SPEC §9's second plus START_GUARD_MS, because what is counted is the claim, and the request starts a
 * little after it (the commit, the worker, the connection): a receiver timing arrivals must still never
 * see more than rate_limit in one second, even when one claim's requests leave later than the next's.
 */
export const START_GUARD_MS = 25;
export const WINDOW_MS = 1000 + START_GUARD_MS;

/** Run is `count` claims made at `at` (epoch ms). */
export interface Run {
  at: number;
  count: number;
}

/** parseRuns reads "time:count,time:count" (oldest first), keeping the runs still inside the window at `now`. */
export function parseRuns(text: string | null, now: number): Run[] {
  if (!text) return [];
  const runs: Run[] = [];
  for (const part of text.split(",")) {
    const [at, count] = part.split(":").map(Number);
    if (Number.isFinite(at) && Number.isFinite(count) && at! > now - WINDOW_MS && count! > 0) runs.push({ at: at!, count: count! });
  }
  // Nodes' clocks differ a little: keep runs in time order whoever wrote them.
  return runs.sort((a, b) => a.at - b.at);
}

/** formatRuns writes runs back; null when there are none. */
export function formatRuns(runs: readonly Run[]): string | null {
  return runs.length === 0 ? null : runs.map((r) => `${r.at}:${r.count}`).join(",");
}

/** room is how many more claims `limit` allows at `now` given the runs inside the window. */
export function room(runs: readonly Run[], limit: number): number {
  return Math.max(0, limit - runs.reduce((n, r) => n + r.count, 0));
}

/**
 * pacedUntil is the first time the window has room again, or null if it has room now: when the
 * oldest claims leave it, i.e. WINDOW_MS after the run holding the (total − limit + 1)-th oldest claim.
 */
export function pacedUntil(runs: readonly Run[], limit: number): number | null {
  let excess = runs.reduce((n, r) => n + r.count, 0) - limit + 1;
  if (excess <= 0) return null;
  for (const r of runs) {
    excess -= r.count;
    if (excess <= 0) return r.at + WINDOW_MS;
  }
  return null;
}

/** record adds `count` claims made at `now` to the runs (merged with a run at the same time). */
export function record(runs: readonly Run[], now: number, count: number): Run[] {
  if (count <= 0) return [...runs];
  const same = runs.find((r) => r.at === now);
  if (same) return runs.map((r) => (r === same ? { at: now, count: r.count + count } : r));
  return [...runs, { at: now, count }].sort((a, b) => a.at - b.at);
}

/**
 * afterClaim adds a round of `claimed` at `now` to the window and says when the endpoint may next be
 * claimed from: 0 while the window has room, else the time enough old runs leave it to free one slot.
 */
export function afterClaim(runs: readonly Run[], claimed: number, now: number, limit: number): { log: string | null; pacedUntil: number } {
  const next = record(runs, now, claimed);
  return { log: formatRuns(next), pacedUntil: pacedUntil(next, limit) ?? 0 };
}
