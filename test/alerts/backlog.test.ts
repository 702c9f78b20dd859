import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { advance, advanceUntil, type AlertRig, endpoint, exactly, hookdAtStar, publish, received, settled, startAlertRig } from "./kit";

// Its own server: the backlog is the whole queue's, so no other test's deliveries may be in it.
const SECTIONS = {
  delivery: ['require_https = false', 'allow_targets = ["127.0.0.0/8"]', 'retry_schedule = ["1h"]', 'timeout = "2s"', 'disable_after = "0"'].join("\n"),
  alerts: 'backlog_age = "15m"',
};

let rig: AlertRig;
beforeAll(async () => {
  rig = await startAlertRig(SECTIONS);
});
afterAll(async () => {
  await rig.stop();
});

describe("hookd.queue.backlog", () => {
  test("an unfinished delivery older than backlog_age is reported once, and its clearing once", async () => {
    let up = false;
    rig.behaviours.set("/stuck", () => new Response("", { status: up ? 200 : 500 }));
    const id = await endpoint(rig, "/stuck");
    const created = rig.clock.now();
    await publish(rig, "/stuck");
    await settled(rig, id, 1, (d) => d.status === "failed", "first attempt failed");
    // Exactly backlog_age old is not older: checks find nothing to say yet.
    await advance(rig, 15 * 60_000 - 10_000);
    for (let i = 0; i < 2; i++) await advance(rig, 5_000);
    await Bun.sleep(200);
    expect(received(rig, "hookd.queue.backlog")).toEqual([]);
    await advanceUntil(rig, () => received(rig, "hookd.queue.backlog").length > 0, "the backlog event");
    const [backlog] = await exactly(rig, 1, "hookd.queue.backlog");
    expect(backlog!.data).toEqual({ oldest_pending_at: new Date(created).toISOString(), pending: 1 });
    // Still backlogged at later checks: at most once an hour.
    await advance(rig, 10_000);
    await Bun.sleep(200);
    expect(received(rig, "hookd.queue.backlog")).toHaveLength(1);
    up = true;
    // The retry is due an hour after the first attempt; checks keep running every few seconds.
    await advance(rig, 45 * 60_000);
    await settled(rig, id, 1, (d) => d.status === "delivered", "delivered at last");
    await advanceUntil(rig, () => received(rig, "hookd.queue.backlog_cleared").length > 0, "backlog cleared");
    const [cleared] = await exactly(rig, 1, "hookd.queue.backlog_cleared");
    expect(cleared!.data).toEqual({ pending: 0 });
    expect(received(rig, "hookd.queue.backlog")).toHaveLength(1);
    expect(hookdAtStar(rig)).toEqual([]);
  });
});
