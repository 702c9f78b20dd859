import { describe, expect, test } from "bun:test";
import { nextRetryDelay, parseRetryAfter, type RetryInput } from "../../src/delivery/backoff";

const NOW = Date.parse("2015-10-21T07:28:00Z");
const SEC = 1000;
const MIN = 60 * SEC;
const HOUR = 60 * MIN;
const SCHEDULE = [5 * SEC, 5 * MIN, 30 * MIN, 2 * HOUR];

function retry(over: Partial<RetryInput> = {}): RetryInput {
  return { schedule: SCHEDULE, failedAttempts: 1, statusCode: 500, retryAfterMs: null, random: () => 0, ...over };
}

describe("parseRetryAfter", () => {
  test.each([
    ["absent", null, null],
    ["empty", "", null],
    ["blank", "   ", null],
    ["zero seconds", "0", 0],
    ["delay-seconds", "120", 120 * SEC],
    ["delay-seconds with spaces", " 30 ", 30 * SEC],
    ["negative seconds", "-5", 0],
    ["IMF-fixdate ahead", "Wed, 21 Oct 2015 07:30:00 GMT", 2 * MIN],
    ["RFC 850 date ahead", "Wednesday, 21-Oct-15 07:29:00 GMT", MIN],
    ["asctime date ahead, read as GMT", "Wed Oct 21 07:28:30 2015", 30 * SEC],
    ["date in the past", "Wed, 21 Oct 2015 07:00:00 GMT", 0],
    ["date equal to now", "Wed, 21 Oct 2015 07:28:00 GMT", 0],
    ["garbage", "soon", null],
    ["fractional seconds", "1.5", null],
    ["number with junk", "12abc", null],
    ["ISO date (not an HTTP-date)", "2015-10-21T07:30:00Z", null],
    ["impossible date", "Wed, 32 Oct 2015 07:28:00 GMT", null],
  ])("%s: %p -> %p", (_name, header, expected) => {
    expect(parseRetryAfter(header, NOW)).toBe(expected);
  });
});

describe("nextRetryDelay", () => {
  test.each([
    [1, 5 * SEC],
    [2, 5 * MIN],
    [3, 30 * MIN],
    [4, 2 * HOUR],
    [5, null],
    [9, null],
  ])("after %i failed attempts waits %p (no jitter)", (failedAttempts, expected) => {
    expect(nextRetryDelay(retry({ failedAttempts }))).toBe(expected);
  });

  test("an empty schedule expires after the first failure", () => {
    expect(nextRetryDelay(retry({ schedule: [] }))).toBeNull();
  });

  test.each([0, -1, 1.5, Number.NaN])("refuses failedAttempts %p as a caller bug", (failedAttempts) => {
    expect(() => nextRetryDelay(retry({ failedAttempts }))).toThrow(RangeError);
  });

  test.each([
    ["random 0 gives the bare step", 0, 5 * MIN],
    ["random 0.5 adds 10%", 0.5, 5.5 * MIN],
    ["random just under 1 stays under +20%", 0.9999999999, 6 * MIN - 1],
    ["random 1 (out of contract) is clamped to +20%", 1, 6 * MIN],
    ["random below 0 (out of contract) never goes below the step", -3, 5 * MIN],
  ])("jitter: %s", (_name, r, expected) => {
    expect(nextRetryDelay(retry({ failedAttempts: 2, random: () => r }))).toBe(expected);
  });

  test("jitter stays in [step, 1.2 × step) over many draws", () => {
    for (let i = 0; i < 1000; i++) {
      const d = nextRetryDelay(retry({ failedAttempts: 2, random: Math.random }))!;
      expect(d).toBeGreaterThanOrEqual(5 * MIN);
      expect(d).toBeLessThan(6 * MIN);
    }
  });

  test.each([
    ["429 honours a longer Retry-After", 429, 10 * MIN, 10 * MIN],
    ["503 honours a longer Retry-After", 503, 10 * MIN, 10 * MIN],
    ["500 ignores Retry-After", 500, 10 * MIN, 5 * SEC],
    ["a network error (no status) ignores Retry-After", null, 10 * MIN, 5 * SEC],
    ["Retry-After is capped at 1 h", 429, 5 * HOUR, HOUR],
    ["a smaller Retry-After than the step loses to the step", 503, SEC, 5 * SEC],
    ["Retry-After 0 loses to the step", 429, 0, 5 * SEC],
    ["absent Retry-After on 429 uses the step", 429, null, 5 * SEC],
  ])("%s", (_name, statusCode, retryAfterMs, expected) => {
    expect(nextRetryDelay(retry({ statusCode, retryAfterMs }))).toBe(expected);
  });

  test("a step longer than the 1 h cap beats a capped Retry-After", () => {
    expect(nextRetryDelay(retry({ failedAttempts: 4, statusCode: 429, retryAfterMs: 5 * HOUR }))).toBe(2 * HOUR);
  });

  test("Retry-After does not revive a used-up schedule", () => {
    expect(nextRetryDelay(retry({ failedAttempts: 5, statusCode: 429, retryAfterMs: MIN }))).toBeNull();
  });

  test("parseRetryAfter output feeds straight in", () => {
    const retryAfterMs = parseRetryAfter("Wed, 21 Oct 2015 07:58:00 GMT", NOW);
    expect(nextRetryDelay(retry({ statusCode: 503, retryAfterMs }))).toBe(30 * MIN);
  });
});
