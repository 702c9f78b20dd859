import { describe, expect, test } from "bun:test";
import { describeCounts } from "../../src/cli/maintenance";

describe("describeCounts (what `hookd cleanup` prints)", () => {
  test.each([
    [{ deliveries: 3, events: 2, inbound: 0, idempotencyKeys: 1, rateWindows: 0 }, "3 deliveries, 2 events, 0 inbound requests, 1 idempotency key, 0 rate-limit windows"],
    [{ deliveries: 1, events: 1, inbound: 1, idempotencyKeys: 2, rateWindows: 1 }, "1 delivery, 1 event, 1 inbound request, 2 idempotency keys, 1 rate-limit window"],
    [{ deliveries: 0, somethingNew: 4 }, "0 deliveries, 4 something new"],
  ])("%j → %p", (counts, text) => {
    expect(describeCounts(counts)).toBe(text);
  });
});
