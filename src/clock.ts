/** Clock is how everything that depends on time reads it, so tests can move time without sleeping. */
export interface Clock {
  now(): number;
}

/** systemClock reads the wall clock in milliseconds since the epoch. */
export const systemClock: Clock = { now: () => Date.now() };

/** isoTime renders epoch milliseconds as RFC 3339 UTC, the only timestamp format the API uses. */
export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}
