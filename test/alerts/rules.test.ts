import { describe, expect, test } from "bun:test";
import { backlogEvent, disabledEvent, expiredEvent, failingEvent, recoveredEvent, withOriginsOnly } from "../../src/alerts/events";
import { addExpiry, attemptReport, BACKLOG_REPEAT_MS, decideBacklog, EXPIRY_WINDOW_MS, flushExpiry } from "../../src/alerts/rules";
import { cutToOrigin } from "../../src/alerts/types";
import type { AttemptDecision, EndpointState, ExpiryBatch, ExpiryFacts } from "../../src/storage/types";

const T = Date.UTC(2030, 0, 1, 12);
const data = (e: { body: string }) => JSON.parse(e.body).data;

describe("cutToOrigin", () => {
  test.each([
    ["https://hooks.slack.com/services/T000/B000/XXXX", "https://hooks.slack.com"],
    ["https://chat.example:8443/webhook?token=secret", "https://chat.example:8443"],
    ["http://127.0.0.1:9000/a/b", "http://127.0.0.1:9000"],
    ["http://[::1]:81/x", "http://[::1]:81"],
    ["not a url", ""],
  ])("%s -> %s", (url, origin) => {
    expect(cutToOrigin(url)).toBe(origin);
  });
});

describe("event builders", () => {
  test("every event is hookd's own, with SPEC §11 data and URLs cut to the origin", () => {
    const disabled = disabledEvent({ webhookId: "wh_1", url: "https://x.example/secret/path", reason: "gone", expired: 3 }, T);
    expect(disabled).toMatchObject({ type: "hookd.endpoint.disabled", origin: "hookd", source: null, created_at: T });
    expect(data(disabled)).toEqual({ webhook_id: "wh_1", url: "https://x.example", reason: "gone", expired: 3 });
    const failing = failingEvent({ webhookId: "wh_1", url: "https://x.example/p", failureCount: 10, failingSince: T - 1000, lastError: "HTTP 500" }, T);
    expect(data(failing)).toEqual({
      webhook_id: "wh_1", url: "https://x.example", failure_count: 10, failing_since: new Date(T - 1000).toISOString(), last_error: "HTTP 500",
    });
    const recovered = recoveredEvent({ webhookId: "wh_1", url: "https://x.example/p", failingSince: T - 1000, recoveredAt: T }, T);
    expect(data(recovered)).toEqual({
      webhook_id: "wh_1", url: "https://x.example", failing_since: new Date(T - 1000).toISOString(), recovered_at: new Date(T).toISOString(),
    });
    const ids = Array.from({ length: 25 }, (_, i) => `dlv_${i}`);
    const expired = expiredEvent("wh_1", { url: "https://x.example/p", count: 25, deliveryIds: ids, eventTypes: ["a.b"], lastError: "HTTP 503" }, T);
    expect(data(expired)).toEqual({
      webhook_id: "wh_1", url: "https://x.example", count: 25, delivery_ids: ids.slice(0, 20), event_types: ["a.b"], last_error: "HTTP 503",
    });
    expect(data(backlogEvent(T - 3_600_000, 7, T))).toEqual({ oldest_pending_at: new Date(T - 3_600_000).toISOString(), pending: 7 });
  });
});

const decision = (over: Partial<AttemptDecision> & { status?: AttemptDecision["delivery"]["status"] }): AttemptDecision => ({
  delivery: { status: over.status ?? "failed", nextAttemptAt: null, error: "HTTP 500", deliveredAt: null },
  endpoint: over.endpoint ?? "failed",
  disable: over.disable ?? null,
});
const endpoint = (over: Partial<EndpointState> = {}): EndpointState => ({ status: "active", failure_count: 0, failing_since: null, ...over });

describe("attemptReport", () => {
  test.each<[string, AttemptDecision, EndpointState, string, { failing: boolean; recovered: boolean; expired: boolean }]>([
    ["a failure below the threshold reports nothing", decision({}), endpoint({ failure_count: 1 }), "a.b", { failing: false, recovered: false, expired: false }],
    ["the failure that reaches failing_after reports failing", decision({}), endpoint({ failure_count: 2 }), "a.b", { failing: true, recovered: false, expired: false }],
    ["a streak already reported is not reported again", decision({}), endpoint({ failure_count: 5, failing_reported: true }), "a.b", { failing: false, recovered: false, expired: false }],
    ["a failure that disables reports the disable instead", decision({ disable: "gone", status: "expired" }), endpoint({ failure_count: 2 }), "a.b", { failing: false, recovered: false, expired: false }],
    ["a success after a reported streak recovers", decision({ status: "delivered", endpoint: "reset" }), endpoint({ failure_count: 4, failing_reported: true }), "a.b", { failing: false, recovered: true, expired: false }],
    ["a success after an unreported streak is quiet", decision({ status: "delivered", endpoint: "reset" }), endpoint({ failure_count: 1 }), "a.b", { failing: false, recovered: false, expired: false }],
    ["a delivery out of attempts expires", decision({ status: "expired" }), endpoint(), "a.b", { failing: false, recovered: false, expired: true }],
    ["never for a hookd.* delivery", decision({ status: "expired" }), endpoint(), "hookd.endpoint.failing", { failing: false, recovered: false, expired: false }],
    ["not on an endpoint already out of service", decision({ status: "expired", endpoint: "unchanged" }), endpoint({ status: "deleted" }), "a.b", { failing: false, recovered: false, expired: false }],
  ])("%s", (_name, d, before, type, want) => {
    expect(attemptReport(d, before, type, 3)).toEqual(want);
  });
});

const expiry = (i: number, type = "a.b"): ExpiryFacts => ({ webhookId: "wh_1", url: "https://x.example/p", deliveryId: `dlv_${i}`, eventType: type, lastError: "HTTP 500" });

describe("expiry windows", () => {
  test("the first expiry is reported at once, the rest of its minute together when it ends", () => {
    let batch: ExpiryBatch | null = null;
    const counts: number[] = [];
    for (let i = 0; i < 50; i++) {
      const step = addExpiry(batch, expiry(i, i % 2 ? "a.b" : "c.d"), T + i * 1000);
      counts.push(...step.events.map((e) => data(e).count));
      batch = step.batch;
    }
    expect(counts).toEqual([1]);
    expect(flushExpiry("wh_1", batch!, T + EXPIRY_WINDOW_MS - 1).event).toBeNull();
    const { event, batch: after } = flushExpiry("wh_1", batch!, T + EXPIRY_WINDOW_MS);
    expect(data(event!)).toMatchObject({ count: 49, event_types: ["a.b", "c.d"], last_error: "HTTP 500" });
    expect(data(event!).delivery_ids).toEqual(Array.from({ length: 20 }, (_, i) => `dlv_${i + 1}`));
    expect(flushExpiry("wh_1", after, T + 2 * EXPIRY_WINDOW_MS).event).toBeNull();
  });

  test("an ended window nobody flushed is reported with the next expiry, which opens a new one", () => {
    let { batch } = addExpiry(null, expiry(0), T);
    batch = addExpiry(batch, expiry(1), T + 10).batch;
    const step = addExpiry(batch, expiry(2), T + EXPIRY_WINDOW_MS + 5);
    expect(step.events.map((e) => data(e).count)).toEqual([1, 1]);
    expect(step.batch).toMatchObject({ windowStart: T + EXPIRY_WINDOW_MS + 5, count: 0 });
  });
});

describe("decideBacklog", () => {
  const AGE = 15 * 60_000;
  const quiet = { reported: false, reportedAt: null };
  test("no unfinished delivery older than backlog_age: nothing", () => {
    expect(decideBacklog({ oldestPendingAt: T - AGE, pending: 3 }, quiet, T, AGE)).toEqual({ event: null, state: quiet });
    expect(decideBacklog({ oldestPendingAt: null, pending: 0 }, quiet, T, AGE).event).toBeNull();
  });
  test("a backlog is reported once, at most once an hour, and cleared once", () => {
    const first = decideBacklog({ oldestPendingAt: T - AGE - 1, pending: 3 }, quiet, T, AGE);
    expect(first.event?.type).toBe("hookd.queue.backlog");
    expect(first.state).toEqual({ reported: true, reportedAt: T });
    expect(decideBacklog({ oldestPendingAt: T - AGE - 1, pending: 3 }, first.state, T + 10_000, AGE).event).toBeNull();
    const cleared = decideBacklog({ oldestPendingAt: null, pending: 0 }, first.state, T + 20_000, AGE);
    expect(cleared.event?.type).toBe("hookd.queue.backlog_cleared");
    expect(data(cleared.event!)).toEqual({ pending: 0 });
    // Back within the hour: not reported again (so not cleared again either).
    const again = decideBacklog({ oldestPendingAt: T - AGE, pending: 1 }, cleared.state, T + 30_000, AGE);
    expect(again.event).toBeNull();
    expect(decideBacklog({ oldestPendingAt: null, pending: 0 }, again.state, T + 40_000, AGE).event).toBeNull();
    expect(decideBacklog({ oldestPendingAt: T, pending: 1 }, cleared.state, T + BACKLOG_REPEAT_MS, AGE).event?.type).toBe("hookd.queue.backlog");
  });
});

describe("URLs inside an attempt's error", () => {
  test.each([
    ["redirect not followed (301 to https://chat.example/hooks/T0SECRET/B0SECRET)", "redirect not followed (301 to https://chat.example)"],
    ["HTTP 500", "HTTP 500"],
    ["connection refused (127.0.0.1:9)", "connection refused (127.0.0.1:9)"],
    ["redirect not followed (302 to http://user:pw@host:8080/x?token=abc)", "redirect not followed (302 to http://host:8080)"],
  ])("%s", (text, want) => {
    expect(withOriginsOnly(text)).toBe(want);
  });
});
