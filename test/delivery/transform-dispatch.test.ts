import { afterAll, describe, expect, test } from "bun:test";
import { attemptDelivery, type DispatchSettings, type Send } from "../../src/delivery/dispatcher";
import { hexSignature, standardSignature } from "../../src/delivery/sign";
import type { SendRequest } from "../../src/delivery/sender";
import type { ClaimedDelivery } from "../../src/storage/types";
import { createTransformPool } from "../../src/transform";
import { FakeClock } from "../support/fake-clock";

const SECRET = `whsec_${Buffer.alloc(24, 7).toString("base64")}`;
const ENVELOPE = '{"id":"evt_1","type":"order.created","created_at":"2030-01-01T00:00:00.000Z","data":{"n":5}}';
const pool = createTransformPool({ size: 1 });
afterAll(() => pool.close());

function claimed(over: Partial<ClaimedDelivery>): ClaimedDelivery {
  return {
    id: "dlv_1", event_id: "evt_1", event_type: "order.created", webhook_id: "wh_1", url: "http://127.0.0.1:9/hook", secrets: [SECRET],
    body: ENVELOPE, attempts: 0, schedule_attempts: 0, sequence: null, headers: null, timeout_ms: null, client_tls: null, oauth2: null,
    transform: null, content_type: null, source: "erp", lease: "l1", ...over,
  };
}

function recording(): { send: Send; sent: SendRequest[] } {
  const sent: SendRequest[] = [];
  return { sent, send: async (r) => (sent.push(r), { ok: true, statusCode: 200, durationMs: 1, error: null, response: "", retryAfter: null }) };
}

const settings: DispatchSettings = { timeoutMs: 1000, retrySchedule: [5000, 60_000], userAgent: "hookd-test", random: () => 0, transforms: pool, maxBody: 1024 };

describe("attemptDelivery with a transform", () => {
  test("sends the transformed bytes with their Content-Type, signed over those bytes", async () => {
    const clock = new FakeClock(1_700_000_000_000);
    const { send, sent } = recording();
    const r = await attemptDelivery(claimed({ transform: '"n=" & data.n & ";src=" & source', content_type: "text/csv" }), send, clock, settings);
    expect(r.ok).toBe(true);
    const request = sent[0]!;
    expect(request.body).toBe("n=5;src=erp");
    expect(request.headers["Content-Type"]).toBe("text/csv");
    expect(request.headers["webhook-id"]).toBe("evt_1");
    expect(request.headers["X-Hookd-Signature"]).toBe(hexSignature(SECRET, "n=5;src=erp"));
    expect(request.headers["webhook-signature"]).toBe(standardSignature(SECRET, "evt_1", 1_700_000_000, "n=5;src=erp"));
  });

  test("without a transform the stored envelope goes out as JSON", async () => {
    const { send, sent } = recording();
    await attemptDelivery(claimed({}), send, new FakeClock(), settings);
    expect(sent[0]!.body).toBe(ENVELOPE);
    expect(sent[0]!.headers["Content-Type"]).toBe("application/json");
  });

  test.each<[string, Partial<ClaimedDelivery>, Partial<DispatchSettings>, string]>([
    ["a throw", { transform: '$error("bad")' }, {}, "transform_failed: bad"],
    ["nothing", { transform: "data.none" }, {}, "transform_failed: the expression returned nothing"],
    ["a result over max_body", { transform: '$pad("", 2000)' }, {}, "transform_failed: the result is 2000 bytes, over max_body (1024)"],
    ["no runner", { transform: "data" }, { transforms: undefined }, "transform_failed: no transform runner is configured"],
  ])("%s: no request, a failed attempt that is not retried", async (_name, over, settingsOver, error) => {
    const { send, sent } = recording();
    const r = await attemptDelivery(claimed(over), send, new FakeClock(), { ...settings, ...settingsOver });
    expect(sent).toHaveLength(0);
    expect(r).toMatchObject({ ok: false, statusCode: null, nextAttemptAt: null, gone: false, transform: "failed" });
    expect(r.error).toStartWith(error);
  });

  test("a transform stopped for time: no request, retried on the schedule", async () => {
    const clock = new FakeClock(1_700_000_000_000);
    const { send, sent } = recording();
    const r = await attemptDelivery(claimed({ transform: "($f := function($x) { $f($x) }; $f(1))", schedule_attempts: 1 }), send, clock, settings);
    expect(sent).toHaveLength(0);
    expect(r).toMatchObject({ ok: false, statusCode: null, error: "transform_timeout", transform: "timeout", nextAttemptAt: clock.now() + 60_000 });
    expect(r.durationMs).toBeGreaterThanOrEqual(85);
  });
});
