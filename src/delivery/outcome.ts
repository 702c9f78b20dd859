import type { AttemptDecision, AttemptResult, EndpointState } from "../storage/types";

/** OutcomeSettings are the `[delivery]` values the outcome rules read. */
export interface OutcomeSettings {
  /** disableAfterMs: an endpoint failing continuously this long is disabled; 0 = never. */
  readonly disableAfterMs: number;
}

/**
 * decideAttempt applies SPEC §6 to one recorded attempt: what the delivery becomes, what happens to
 * the endpoint's failure record, and whether the endpoint is disabled. A transform that failed expires
 * the delivery at once; one stopped for time is retried on the schedule; neither touches the endpoint
 * (SPEC §10). Pure, so every backend saves the same decisions and the rules have one table test
 * (test/unit/outcome.test.ts, test/delivery/transform-outcome.test.ts).
 */
export function decideAttempt(r: AttemptResult, endpoint: EndpointState, now: number, settings: OutcomeSettings): AttemptDecision {
  const off = endpoint.status !== "active";
  let status: AttemptDecision["delivery"]["status"];
  let nextAttemptAt: number | null = null;
  let error = r.error;
  if (r.ok) status = "delivered";
  else if (r.nextAttemptAt !== null && !r.gone && !off && r.transform !== "failed") {
    status = "failed";
    nextAttemptAt = r.nextAttemptAt;
  } else {
    status = "expired";
    // A retry was still allowed but the endpoint went away meanwhile: say why it stopped.
    if (off && !r.gone && r.nextAttemptAt !== null && r.transform !== "failed") error = endpoint.status === "deleted" ? "endpoint_deleted" : "endpoint_disabled";
  }
  const delivery = { status, nextAttemptAt, error, deliveredAt: r.ok ? now : null };
  // A transform that failed or ran out of time sent nothing: the endpoint did nothing wrong (SPEC §10).
  if (r.transform !== undefined) return { delivery, endpoint: "unchanged", disable: null };
  if (endpoint.status === "deleted") return { delivery, endpoint: "unchanged", disable: null };
  if (r.ok) {
    // Most successes follow successes: no write when there is no failure record to clear.
    const clean = endpoint.failure_count === 0 && endpoint.failing_since === null;
    return { delivery, endpoint: clean ? "unchanged" : "reset", disable: null };
  }
  const failingSince = endpoint.failing_since ?? r.attemptedAt;
  const disable =
    endpoint.status !== "active" ? null
    : r.gone ? "gone"
    : settings.disableAfterMs > 0 && now - failingSince >= settings.disableAfterMs ? "failing"
    : null;
  return { delivery, endpoint: "failed", disable };
}
