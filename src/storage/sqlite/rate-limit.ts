// SPEC §9 rate_limit as a sliding window kept on an endpoint's ready row: pure, so it is table-tested.

/** RATE_WINDOW_MS is the window rate_limit counts claims over. */
export const RATE_WINDOW_MS = 1000;

/** RateRun is one claim round's share of the window: `count` deliveries claimed at `at`. */
export interface RateRun {
  at: number;
  count: number;
}

/** parseRateLog reads "at:count,at:count" runs (oldest first), keeping only those still in the window at `now`. */
export function parseRateLog(log: string | null, now: number): RateRun[] {
  if (!log) return [];
  const runs: RateRun[] = [];
  for (const part of log.split(",")) {
    const [at, count] = part.split(":").map(Number);
    if (at !== undefined && count !== undefined && Number.isFinite(at) && count > 0 && at > now - RATE_WINDOW_MS) runs.push({ at, count });
  }
  return runs;
}

/** rateRoom is how many more claims `rate` allows at the moment the window holds `runs`. */
export function rateRoom(runs: readonly RateRun[], rate: number): number {
  return Math.max(0, rate - runs.reduce((sum, r) => sum + r.count, 0));
}

/**
 * afterClaim adds a round of `claimed` at `now` to the window and says when the endpoint may next be
 * claimed from: 0 while the window has room, else the time enough old runs leave it to free one slot.
 */
export function afterClaim(runs: readonly RateRun[], claimed: number, now: number, rate: number): { log: string | null; pacedUntil: number } {
  const next = claimed > 0 ? [...runs, { at: now, count: claimed }] : [...runs];
  let inWindow = next.reduce((sum, r) => sum + r.count, 0);
  let pacedUntil = 0;
  for (const run of next) {
    if (inWindow < rate) break;
    inWindow -= run.count;
    pacedUntil = run.at + RATE_WINDOW_MS;
  }
  return { log: next.length === 0 ? null : next.map((r) => `${r.at}:${r.count}`).join(","), pacedUntil };
}
