import { describe, expect, test } from "bun:test";
import { WINDOW_MS } from "../../src/storage/rate-window";
import { SEC, complete, fail, type Fixture, ok } from "./harness";
import { addEndpoint, claimNow, publishData } from "./options-contract";

/** rateLimitContract: SPEC §9 rate_limit — at most r claims in any 1-second window (sliding), nothing else changed. */
export function rateLimitContract(f: Fixture): void {
  const publishN = async (n: number) => {
    for (let i = 0; i < n; i++) await publishData(f, { i });
  };
  // Claims everything allowed now and delivers it at once; returns how many were claimed.
  const step = async (over: Parameters<typeof claimNow>[1] = {}) => {
    const due = await claimNow(f, over);
    await complete(f, due.map((d) => ok(f, d)));
    return due.length;
  };
  const maxInAnyWindow = (times: number[]) =>
    Math.max(0, ...times.map((t) => times.filter((u) => u >= t && u < t + SEC).length));

  describe("rate limits", () => {
    test.each([100, 137, 250])("never claims more than rate_limit in any 1000 ms window (claiming every %i ms)", async (every) => {
      await addEndpoint(f, { rate_limit: 5 });
      await publishN(60);
      const start = f.clock.now();
      const times: number[] = [];
      while (f.clock.now() - start <= 6 * SEC) {
        const n = await step();
        for (let i = 0; i < n; i++) times.push(f.clock.now() - start);
        f.clock.advance(every);
      }
      expect(maxInAnyWindow(times)).toBe(5);
      // Room frees exactly WINDOW_MS (1 s + the start guard) after a claim: claiming every 100 ms takes
      // 5 at 0, 1100, 2200, …, 5500 (the first step at or after each WINDOW_MS).
      if (every === 100) expect(times.length).toBe(5 * Math.ceil(6 * SEC / (Math.ceil(WINDOW_MS / 100) * 100) + 1e-9));
      else expect(times.length).toBeGreaterThanOrEqual(25);
    });

    test("the window slides: room comes back claim by claim, as each run leaves it", async () => {
      await addEndpoint(f, { rate_limit: 5 });
      const t0 = f.clock.now();
      await publishN(3);
      expect(await step()).toBe(3);
      f.clock.advance(500);
      await publishN(10);
      expect(await step()).toBe(2);
      expect(await f.s.deliveries.nextWakeAt(1000)).toBe(t0 + WINDOW_MS);
      f.clock.advance(WINDOW_MS - 501);
      expect(await step()).toBe(0);
      f.clock.advance(1);
      expect(await step()).toBe(3);
      expect(await f.s.deliveries.nextWakeAt(1000)).toBe(t0 + 500 + WINDOW_MS);
      f.clock.advance(499);
      expect(await step()).toBe(0);
      f.clock.advance(1);
      expect(await step()).toBe(2);
    });

    test("deliveries over the rate keep their status: pending, no attempt, not leased, due as before", async () => {
      await addEndpoint(f, { rate_limit: 2 });
      const created = f.clock.now();
      await publishN(5);
      const claimed = await claimNow(f);
      expect(claimed).toHaveLength(2);
      const [w] = await f.s.webhooks.list({ limit: 1 });
      const rest = (await f.s.deliveries.listForWebhook(w!.id, { limit: 10 })).filter((d) => !claimed.some((c) => c.id === d.id));
      expect(rest).toHaveLength(3);
      for (const d of rest) expect(d).toMatchObject({ status: "pending", attempts: 0, leased: false, next_attempt_at: created });
      // A failed attempt took its slot too: its retry due now waits for the window like the rest.
      await complete(f, claimed.map((d) => fail(f, d, 0)));
      expect(await claimNow(f)).toEqual([]);
      expect(await f.s.deliveries.nextWakeAt(1000)).toBe(created + WINDOW_MS);
      f.clock.advance(WINDOW_MS);
      expect(await claimNow(f)).toHaveLength(2);
    });

    test("holds across claimers and rounds limited by total", async () => {
      await addEndpoint(f, { rate_limit: 5 });
      await publishN(20);
      expect(await step({ total: 3 })).toBe(3);
      expect(await step({ owner: "node-b" })).toBe(2);
      expect(await step({ owner: "node-c" })).toBe(0);
      f.clock.advance(WINDOW_MS);
      expect(await step({ owner: "node-b" })).toBe(5);
    });

    test("an endpoint over its rate does not hold back other endpoints", async () => {
      const slow = await addEndpoint(f, { rate_limit: 1 });
      const fast = await addEndpoint(f);
      await publishN(5);
      const claimed = await claimNow(f);
      expect(claimed.filter((d) => d.webhook_id === slow.id)).toHaveLength(1);
      expect(claimed.filter((d) => d.webhook_id === fast.id)).toHaveLength(5);
    });

    test("clearing rate_limit lets the endpoint's waiting work go at once", async () => {
      const w = await addEndpoint(f, { rate_limit: 2 });
      await publishN(6);
      expect(await step()).toBe(2);
      expect(await step()).toBe(0);
      await f.s.webhooks.update(w.id, { rate_limit: null }, f.clock.now());
      expect(await f.s.deliveries.nextWakeAt(1000)).toBeLessThanOrEqual(f.clock.now());
      expect(await step()).toBe(4);
    });

    test("raising rate_limit gives the new room at once; the window so far still counts", async () => {
      const w = await addEndpoint(f, { rate_limit: 2 });
      await publishN(10);
      expect(await step()).toBe(2);
      await f.s.webhooks.update(w.id, { rate_limit: 5 }, f.clock.now());
      expect(await f.s.deliveries.nextWakeAt(1000)).toBeLessThanOrEqual(f.clock.now());
      expect(await step()).toBe(3);
      expect(await step()).toBe(0);
      f.clock.advance(WINDOW_MS);
      expect(await step()).toBe(5);
    });
  });
}
