/** A receiver may ask for a pause, but never for longer than this (SPEC §6), so one bad header cannot park a delivery for days. */
const RETRY_AFTER_CAP_MS = 60 * 60 * 1000;
/** Jitter spreads retries of one outage over 20% of the step so recovering receivers are not hit by a synchronised wave. */
const MAX_JITTER = 0.2;
/** Only these statuses mean "come back later" (RFC 9110 §10.2.3); elsewhere Retry-After is noise. */
const RETRY_AFTER_STATUSES: ReadonlySet<number> = new Set([429, 503]);

const DELAY_SECONDS = /^-?\d+$/;
// Date.parse alone accepts things like "1.5" as a date, so demand the day name every HTTP-date form starts with.
const HTTP_DATE_START = /^(mon|tue|wed|thu|fri|sat|sun)[a-z]*,?\s/i;

/** parseRetryAfter: Retry-After as delay-seconds or an HTTP-date → milliseconds from `now` (≥ 0), null if absent/unparseable. */
export function parseRetryAfter(header: string | null, now: number): number | null {
  if (header === null) return null;
  const text = header.trim();
  if (text === "") return null;
  if (DELAY_SECONDS.test(text)) return Math.max(0, Number(text) * 1000);
  if (!HTTP_DATE_START.test(text)) return null;
  // HTTP-dates are always GMT; the asctime form omits the zone and would otherwise parse as local time.
  const at = Date.parse(/\bGMT$/i.test(text) ? text : `${text} GMT`);
  if (!Number.isFinite(at)) return null;
  return Math.max(0, at - now);
}

export interface RetryInput {
  /** Milliseconds to wait before attempts 2, 3, …. */
  schedule: readonly number[];
  /** Attempts made in the current schedule, the one that just failed included (≥ 1). */
  failedAttempts: number;
  statusCode: number | null;
  retryAfterMs: number | null;
  /** Uniform in [0, 1); injected so tests pin the jitter. */
  random: () => number;
}

/** nextRetryDelay: SPEC §6 — max(step × (1 + jitter), min(Retry-After, 1h)), jitter uniform in [0, 0.2], Retry-After counting only on 429 and 503; null when the schedule is used up (the delivery expires). */
export function nextRetryDelay(input: RetryInput): number | null {
  const { schedule, failedAttempts, statusCode, retryAfterMs } = input;
  // A caller bug: silently answering null here would expire a delivery that was never retried.
  if (!Number.isInteger(failedAttempts) || failedAttempts < 1) {
    throw new RangeError(`nextRetryDelay: failedAttempts must be an integer ≥ 1, got ${failedAttempts}`);
  }
  const step = schedule[failedAttempts - 1];
  if (step === undefined) return null;
  // Clamped so a misbehaving random source can never schedule below the step or beyond +20%.
  const jitter = Math.min(Math.max(input.random(), 0), 1) * MAX_JITTER;
  // Floor keeps whole milliseconds while staying within [step, 1.2 × step) for integer steps.
  const jittered = Math.floor(step * (1 + jitter));
  const honoured = retryAfterMs !== null && statusCode !== null && RETRY_AFTER_STATUSES.has(statusCode);
  if (!honoured) return jittered;
  return Math.max(jittered, Math.min(Math.max(retryAfterMs, 0), RETRY_AFTER_CAP_MS));
}
