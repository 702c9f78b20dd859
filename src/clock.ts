/** Clock is how everything that depends on time reads it and waits on it, so tests can move time without sleeping. */
export interface Clock {
  now(): number;
  /** setTimer calls `fn` once `ms` have passed on this clock; returns a cancel function. */
  setTimer(ms: number, fn: () => void): () => void;
}

// setTimeout overflows past 2^31-1 ms; long waits are re-armed in steps instead.
const MAX_TIMER_MS = 2 ** 31 - 1;

/** systemClock reads the wall clock in milliseconds since the epoch. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(ms, fn) {
    const handle = setTimeout(fn, Math.max(0, Math.min(ms, MAX_TIMER_MS)));
    return () => clearTimeout(handle);
  },
};

/** isoTime renders epoch milliseconds as RFC 3339 UTC, the only timestamp format the API uses. */
export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}

/** isoTimeOrNull renders a nullable timestamp. */
export function isoTimeOrNull(ms: number | null): string | null {
  return ms === null ? null : isoTime(ms);
}
