import { describe, expect, test } from "bun:test";
import { attemptDelivery, type DispatchSettings, type Send } from "../../src/delivery/dispatcher";
import type { SendOutcome } from "../../src/delivery/sender";
import type { ClaimedDelivery } from "../../src/storage/types";
import { FakeClock } from "../support/fake-clock";

const STEP = 5 * 60 * 1000;
const DRAWS = 400;

const delivery: ClaimedDelivery = {
  id: "dlv_1",
  event_id: "evt_1",
  event_type: "order.created",
  webhook_id: "wh_1",
  url: "https://receiver.example/hook",
  secrets: [`whsec_${Buffer.alloc(24, 1).toString("base64")}`],
  body: '{"ok":true}',
  attempts: 1,
  schedule_attempts: 1,
  sequence: null,
  headers: null,
  timeout_ms: null,
  client_tls: null,
  oauth2: null,
  transform: null,
  content_type: null,
  source: null,
  lease: "lease_1",
};

function answering(outcome: Partial<SendOutcome>): Send {
  return async () => ({ ok: false, statusCode: 500, durationMs: 1, error: null, response: "", retryAfter: null, ...outcome });
}

function settings(over: Partial<DispatchSettings> = {}): DispatchSettings {
  // schedule_attempts = 1 above, so the step used is the second one.
  return { timeoutMs: 1000, retrySchedule: [5000, STEP, 30 * 60 * 1000], userAgent: "hookd-test", ...over };
}

/** delays makes `n` failed attempts against a frozen clock and returns each retry's delay. */
async function delays(n: number, over: Partial<DispatchSettings> = {}, outcome: Partial<SendOutcome> = {}): Promise<number[]> {
  const clock = new FakeClock(1_700_000_000_000);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const r = await attemptDelivery(delivery, answering(outcome), clock, settings(over));
    out.push(r.nextAttemptAt! - clock.now());
  }
  return out;
}

describe("attemptDelivery retry jitter", () => {
  test("without a pinned random, retries are jittered within [step, 1.2 × step)", async () => {
    const got = await delays(DRAWS);
    for (const d of got) {
      expect(d).toBeGreaterThanOrEqual(STEP);
      expect(d).toBeLessThan(1.2 * STEP);
    }
    // With a uniform jitter the chance that 400 draws all land on the bare step is nil.
    expect(got.filter((d) => d > STEP).length).toBeGreaterThan(DRAWS / 2);
    // …and they spread over the window rather than sitting at one value.
    expect(Math.max(...got) - Math.min(...got)).toBeGreaterThan(0.1 * STEP);
    expect(new Set(got).size).toBeGreaterThan(DRAWS / 2);
  });

  test("an injected random source decides the jitter", async () => {
    expect(await delays(1, { random: () => 0.5 })).toEqual([1.1 * STEP]);
    expect(await delays(1, { random: () => 0 })).toEqual([STEP]);
  });

  test("a Retry-After longer than the jittered step wins on 503", async () => {
    expect(await delays(1, { random: () => 0.5 }, { statusCode: 503, retryAfter: "3600" })).toEqual([3600 * 1000]);
  });
});
