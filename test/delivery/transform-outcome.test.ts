import { describe, expect, test } from "bun:test";
import { decideAttempt } from "../../src/delivery/outcome";
import type { AttemptDecision, AttemptResult, EndpointState } from "../../src/storage/types";

const NOW = Date.parse("2030-01-01T12:00:00Z");
const HOUR = 60 * 60 * 1000;
const NEXT = NOW + 5000;
const FAILED_ERROR = "transform_failed: boom";

function result(over: Partial<AttemptResult>): AttemptResult {
  return {
    attemptId: "att_1", deliveryId: "dlv_1", webhookId: "wh_1", lease: "node 1", attemptedAt: NOW - 5, durationMs: 5,
    statusCode: null, error: null, response: "", ok: false, nextAttemptAt: null, gone: false, ...over,
  };
}

const threw = { transform: "failed" as const, error: FAILED_ERROR };
const slow = { transform: "timeout" as const, error: "transform_timeout", nextAttemptAt: NEXT };
const slowSpent = { transform: "timeout" as const, error: "transform_timeout", nextAttemptAt: null };

const active: EndpointState = { status: "active", failure_count: 0, failing_since: null };
// Failing for longer than disable_after: an ordinary failure would disable it now.
const failingLong: EndpointState = { status: "active", failure_count: 7, failing_since: NOW - 2 * HOUR };
const disabled: EndpointState = { status: "disabled", failure_count: 3, failing_since: NOW - HOUR };
const deleted: EndpointState = { status: "deleted", failure_count: 3, failing_since: NOW - HOUR };

type Delivery = AttemptDecision["delivery"];
const expired = (error: string): Delivery => ({ status: "expired", nextAttemptAt: null, error, deliveredAt: null });
const retried: Delivery = { status: "failed", nextAttemptAt: NEXT, error: "transform_timeout", deliveredAt: null };
const unchanged = (delivery: Delivery): AttemptDecision => ({ delivery, endpoint: "unchanged", disable: null });

describe("decideAttempt for transforms", () => {
  test.each<[string, Partial<AttemptResult>, EndpointState, AttemptDecision]>([
    ["a transform that failed expires the delivery at once, endpoint unchanged", threw, active, unchanged(expired(FAILED_ERROR))],
    ["a failed transform expires even if a retry time was given", { ...threw, nextAttemptAt: NEXT }, active, unchanged(expired(FAILED_ERROR))],
    ["a failed transform does not disable an endpoint past disable_after", threw, failingLong, unchanged(expired(FAILED_ERROR))],
    ["a failed transform on a disabled endpoint keeps its own error", { ...threw, nextAttemptAt: NEXT }, disabled, unchanged(expired(FAILED_ERROR))],
    ["a transform stopped for time is retried, endpoint unchanged", slow, active, unchanged(retried)],
    ["a timed-out transform does not disable an endpoint past disable_after", slow, failingLong, unchanged(retried)],
    ["a timed-out transform with the schedule used up expires", slowSpent, active, unchanged(expired("transform_timeout"))],
    ["a timed-out transform on a disabled endpoint expires as endpoint_disabled", slow, disabled, unchanged(expired("endpoint_disabled"))],
    ["a timed-out transform on a deleted endpoint expires as endpoint_deleted", slow, deleted, unchanged(expired("endpoint_deleted"))],
  ])("%s", (_name, over, endpoint, want) => {
    expect(decideAttempt(result(over), endpoint, NOW, { disableAfterMs: HOUR })).toEqual(want);
  });
});
