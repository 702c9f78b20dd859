import { describe, expect, test } from "bun:test";
import { createRouter } from "../../src/delivery/fanout";
import { buildEvent } from "../../src/events/envelope";
import { migrate } from "../../src/storage/sqlite/migrate";
import { openDatabase } from "../../src/storage/sqlite/open";
import { afterClaim, parseRuns, room, WINDOW_MS } from "../../src/storage/rate-window";
import { openSqliteStorage } from "../../src/storage/sqlite/storage";
import { type AttemptDecision, type ClaimedDelivery, ENDPOINT_OPTION_DEFAULTS, LANE_WAITING } from "../../src/storage/types";
import { FakeClock } from "../support/fake-clock";

describe("rate log", () => {
  test.each([
    ["nothing logged", null, 1000, []],
    ["keeps runs inside the window", "100:2,900:1", 1000, [{ at: 100, count: 2 }, { at: 900, count: 1 }]],
    ["drops a run exactly one window old", "0:3,500:1", WINDOW_MS, [{ at: 500, count: 1 }]],
    ["ignores junk", "x:1,10:0,600:2", 1000, [{ at: 600, count: 2 }]],
    ["sorts runs written by nodes whose clocks differ", "900:1,400:2", 1000, [{ at: 400, count: 2 }, { at: 900, count: 1 }]],
  ] as const)("parseRuns: %s", (_what, log, now, runs) => {
    expect(parseRuns(log, now)).toEqual([...runs]);
  });

  test.each([
    ["room left: not paced", [{ at: 0, count: 1 }], 2, 500, 5, { log: "0:1,500:2", pacedUntil: 0 }],
    ["window full: paced until the oldest run leaves", [{ at: 0, count: 3 }], 2, 500, 5, { log: "0:3,500:2", pacedUntil: WINDOW_MS }],
    ["over a lowered rate: paced until enough runs leave", [{ at: 0, count: 3 }, { at: 200, count: 3 }], 0, 500, 2, { log: "0:3,200:3", pacedUntil: 200 + WINDOW_MS }],
    ["nothing claimed, nothing logged", [], 0, 500, 5, { log: null, pacedUntil: 0 }],
    ["a second round in the same millisecond merges into its run", [{ at: 500, count: 2 }], 3, 500, 5, { log: "500:5", pacedUntil: 500 + WINDOW_MS }],
  ] as const)("afterClaim: %s", (_what, runs, claimed, now, rate, expected) => {
    expect(afterClaim(runs, claimed, now, rate)).toEqual(expected);
  });

  test("room is the rate less what the window holds, never below 0", () => {
    expect(room([{ at: 0, count: 2 }], 5)).toBe(3);
    expect(room([{ at: 0, count: 7 }], 5)).toBe(0);
  });
});

describe("lane index", () => {
  test("a lane's next head is read off deliveries_lane, not by scanning its history", () => {
    const db = openDatabase(":memory:");
    migrate(db, 0);
    const plan = db
      .query<{ detail: string }, [string, string, number]>(
        "EXPLAIN QUERY PLAN SELECT id, sequence FROM deliveries WHERE webhook_id = ? AND lane = ? AND next_attempt_at = ? ORDER BY sequence LIMIT 1",
      )
      .all("wh", "", LANE_WAITING)
      .map((r) => r.detail)
      .join("\n");
    expect(plan).toContain("USING INDEX deliveries_lane");
    expect(plan).not.toContain("TEMP B-TREE");
    db.close();
  });
});

const delivered = (at: number): AttemptDecision => ({
  delivery: { status: "delivered", nextAttemptAt: null, error: null, deliveredAt: at }, endpoint: "reset", disable: null,
});

describe("lane retention", () => {
  test("prune forgets a lane idle since before the cutoff; it numbers from 1 again", async () => {
    const clock = new FakeClock(Date.UTC(2030, 0, 1));
    const s = openSqliteStorage(":memory:", clock, { route: createRouter() });
    const now = clock.now();
    await s.webhooks.create({
      ...ENDPOINT_OPTION_DEFAULTS, ordering: "fifo", id: "wh_1", url: "https://hooks.example/", events: ["*"], description: "", status: "active",
      secret: "whsec_x", failure_count: 0, last_failure_at: null, failing_since: null, created_at: now, updated_at: now,
    }, 10);
    const publish = async () => (await s.events.insert(buildEvent("a.b", "{}", "api", clock.now()))).deliveryIds[0]!;
    const deliverDue = async (): Promise<ClaimedDelivery[]> => {
      const due = await s.deliveries.claimDue({ now: clock.now(), total: 10, perEndpoint: 10, leaseMs: () => 60_000, owner: "n" });
      const results = due.map((d) => ({
        attemptId: crypto.randomUUID(), deliveryId: d.id, webhookId: d.webhook_id, lease: d.lease, attemptedAt: clock.now(), durationMs: 1,
        statusCode: 200, error: null, response: "", ok: true, nextAttemptAt: null, gone: false,
      }));
      await s.deliveries.complete(results, () => delivered(clock.now()), clock.now());
      return due;
    };
    const prune = () =>
      s.maintenance.prune({ now: clock.now(), deliveriesBefore: clock.now() - 1, eventsBefore: 0, inboundBefore: 0, rateWindowsBefore: 0, auditBefore: 0 });

    await publish();
    expect((await deliverDue()).map((d) => d.sequence)).toEqual([1]);
    expect((await s.deliveries.get(await publish()))?.sequence).toBe(2);
    clock.advance(86_400_000);
    await prune();
    // The lane's head (2) is unfinished: the lane is kept and numbers on.
    expect((await s.deliveries.get(await publish()))?.sequence).toBe(3);
    expect((await deliverDue()).map((d) => d.sequence)).toEqual([2]);
    expect((await deliverDue()).map((d) => d.sequence)).toEqual([3]);
    clock.advance(86_400_000);
    await prune();
    expect((await s.deliveries.get(await publish()))?.sequence).toBe(1);
    await s.close();
  });
});
