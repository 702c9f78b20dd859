import { describe, expect, test } from "bun:test";
import { decideAttempt } from "../../src/delivery/outcome";
import type { AttemptDecision, AttemptResult, EndpointState } from "../../src/storage/types";

const NOW = Date.parse("2030-01-01T12:00:00Z");
const HOUR = 60 * 60 * 1000;
const NEXT = NOW + 5000;

function result(over: Partial<AttemptResult>): AttemptResult {
  return {
    attemptId: "att_1", deliveryId: "dlv_1", webhookId: "wh_1", lease: "node 1", attemptedAt: NOW - 100, durationMs: 100,
    statusCode: 200, error: null, response: "", ok: true, nextAttemptAt: null, gone: false, ...over,
  };
}

const ok = {};
const retry = { ok: false, statusCode: 500, error: "HTTP 500", nextAttemptAt: NEXT };
const spent = { ok: false, statusCode: 500, error: "HTTP 500", nextAttemptAt: null };
const gone = { ok: false, statusCode: 410, error: "HTTP 410", nextAttemptAt: NEXT, gone: true };

const active: EndpointState = { status: "active", failure_count: 0, failing_since: null };
const failing: EndpointState = { status: "active", failure_count: 3, failing_since: NOW - HOUR };
const disabled: EndpointState = { status: "disabled", failure_count: 3, failing_since: NOW - HOUR };
const deleted: EndpointState = { status: "deleted", failure_count: 3, failing_since: NOW - HOUR };

type Delivery = AttemptDecision["delivery"];
const delivered: Delivery = { status: "delivered", nextAttemptAt: null, error: null, deliveredAt: NOW };
const failed = (error = "HTTP 500"): Delivery => ({ status: "failed", nextAttemptAt: NEXT, error, deliveredAt: null });
const expired = (error: string): Delivery => ({ status: "expired", nextAttemptAt: null, error, deliveredAt: null });

describe("decideAttempt", () => {
  test.each<[string, Partial<AttemptResult>, EndpointState, number, AttemptDecision]>([
    ["2xx on a clean endpoint: delivered, no write to the endpoint", ok, active, 0, { delivery: delivered, endpoint: "unchanged", disable: null }],
    ["2xx on a failing endpoint: delivered, record reset", ok, failing, HOUR, { delivery: delivered, endpoint: "reset", disable: null }],
    ["2xx with failing_since but no count: reset", ok, { ...active, failing_since: NOW - 1 }, 0, { delivery: delivered, endpoint: "reset", disable: null }],
    ["2xx with a count but no failing_since: reset", ok, { ...active, failure_count: 1 }, 0, { delivery: delivered, endpoint: "reset", disable: null }],
    ["2xx on a disabled endpoint: delivered, record reset", ok, disabled, 0, { delivery: delivered, endpoint: "reset", disable: null }],
    ["2xx on a deleted endpoint: delivered, endpoint left alone", ok, deleted, 0, { delivery: delivered, endpoint: "unchanged", disable: null }],
    ["failure with a retry left: failed, counted", retry, active, 0, { delivery: failed(), endpoint: "failed", disable: null }],
    ["failure with a timeout error: failed, error kept", { ...retry, statusCode: null, error: "timeout" }, active, 0,
      { delivery: failed("timeout"), endpoint: "failed", disable: null }],
    ["failure with the schedule used up: expired, counted", spent, active, 0, { delivery: expired("HTTP 500"), endpoint: "failed", disable: null }],
    ["failure with a retry left on a disabled endpoint: expired as endpoint_disabled", retry, disabled, 0,
      { delivery: expired("endpoint_disabled"), endpoint: "failed", disable: null }],
    ["failure with a retry left on a deleted endpoint: expired as endpoint_deleted, endpoint left alone", retry, deleted, 0,
      { delivery: expired("endpoint_deleted"), endpoint: "unchanged", disable: null }],
    ["failure with the schedule used up on a disabled endpoint: its own error", spent, disabled, 0,
      { delivery: expired("HTTP 500"), endpoint: "failed", disable: null }],
    ["410 on an active endpoint: expired and disabled as gone", gone, active, 0, { delivery: expired("HTTP 410"), endpoint: "failed", disable: "gone" }],
    ["410 wins over disable_after", gone, failing, HOUR, { delivery: expired("HTTP 410"), endpoint: "failed", disable: "gone" }],
    ["410 on a disabled endpoint: not disabled again", gone, disabled, 0, { delivery: expired("HTTP 410"), endpoint: "failed", disable: null }],
    ["410 on a deleted endpoint: endpoint left alone", gone, deleted, 0, { delivery: expired("HTTP 410"), endpoint: "unchanged", disable: null }],
    ["failing exactly disable_after: disabled as failing", retry, failing, HOUR, { delivery: failed(), endpoint: "failed", disable: "failing" }],
    ["failing a millisecond less than disable_after: not yet", retry, failing, HOUR + 1, { delivery: failed(), endpoint: "failed", disable: null }],
    ["disable_after 0 never disables", retry, { ...failing, failing_since: 0 }, 0, { delivery: failed(), endpoint: "failed", disable: null }],
    ["a first failure counts from its attempt time", { ...retry, attemptedAt: NOW - HOUR }, active, HOUR,
      { delivery: failed(), endpoint: "failed", disable: "failing" }],
    ["a first failure made just now does not disable", retry, active, 1000, { delivery: failed(), endpoint: "failed", disable: null }],
    ["a failing disabled endpoint is not disabled again", retry, disabled, 1, { delivery: expired("endpoint_disabled"), endpoint: "failed", disable: null }],
  ])("%s", (_name, over, endpoint, disableAfterMs, want) => {
    expect(decideAttempt(result(over), endpoint, NOW, { disableAfterMs })).toEqual(want);
  });
});
