import { describe, expect, test } from "bun:test";
import type { ClaimedDelivery } from "../../src/storage/types";
import { SEC, addWebhook, claim, complete, fail, type Fixture, ok, publish, publishMany } from "./harness";

/** claimsContract: claimDue hands each due delivery to one claimer, within total and perEndpoint, fairly; nextWakeAt. */
export function claimsContract(f: Fixture): void {
  describe("claimDue", () => {
    test("returns what an attempt needs, under a lease token that starts with the owner", async () => {
      const w = await addWebhook(f, { url: "https://hooks.example/a", secret: "whsec_a" });
      const { event, deliveryIds } = await publish(f, "a.b");
      const [d, ...rest] = await claim(f, { owner: "node-7" });
      expect(rest).toEqual([]);
      expect(d).toMatchObject({
        id: deliveryIds[0], event_id: event.id, event_type: "a.b", webhook_id: w.id, url: w.url, secrets: ["whsec_a"],
        body: event.body, attempts: 0, schedule_attempts: 0,
      });
      expect(d!.lease.startsWith("node-7")).toBe(true);
      expect(await f.s.deliveries.get(d!.id)).toMatchObject({ leased: true, status: "pending" });
    });

    test("never gives two concurrent claimers the same delivery", async () => {
      for (let i = 0; i < 3; i++) await addWebhook(f);
      const all = await publishMany(f, 20);
      const rounds = await Promise.all(
        Array.from({ length: 12 }, (_, i) => claim(f, { total: 7, owner: i % 2 === 0 ? "node-a" : "node-b" })),
      );
      const claimed = rounds.flat().map((d) => d.id);
      expect(claimed.sort()).toEqual([...all].sort());
      const tokens = rounds.map((r) => new Set(r.map((d) => d.lease)));
      for (let i = 0; i < tokens.length; i++) {
        for (let j = i + 1; j < tokens.length; j++) expect([...tokens[i]!].filter((t) => tokens[j]!.has(t))).toEqual([]);
      }
    });

    test("counts an endpoint's leases against perEndpoint across calls until they are completed or released", async () => {
      const a = await addWebhook(f, { events: ["a.*"] });
      const b = await addWebhook(f, { events: ["b.*"] });
      await publishMany(f, 10, "a.x");
      await publishMany(f, 2, "b.x");
      const first = await claim(f, { perEndpoint: 8 });
      expect(first.filter((d) => d.webhook_id === a.id)).toHaveLength(8);
      expect(first.filter((d) => d.webhook_id === b.id)).toHaveLength(2);
      expect(await claim(f, { perEndpoint: 8 })).toEqual([]);
      const [done, released] = first.filter((d) => d.webhook_id === a.id);
      await complete(f, [ok(f, done!)]);
      const second = await claim(f, { perEndpoint: 8 });
      expect(second.map((d) => d.webhook_id)).toEqual([a.id]);
      expect(await claim(f, { perEndpoint: 8 })).toEqual([]);
      expect(await f.s.deliveries.release([released!], f.clock.now())).toBe(1);
      expect((await claim(f, { perEndpoint: 8 })).map((d) => d.id)).toEqual([released!.id]);
      expect(await claim(f, { perEndpoint: 9 })).toHaveLength(1);
    });

    test.each([1, 3, 5, 12])("takes at most total = %i per round", async (total) => {
      for (let i = 0; i < 3; i++) await addWebhook(f);
      await publishMany(f, 3);
      expect(await claim(f, { total })).toHaveLength(Math.min(total, 9));
    });

    test("takes the earliest due first, scheduled retries included", async () => {
      await addWebhook(f);
      const { deliveryIds: [first] } = await publish(f);
      f.clock.advance(10);
      const { deliveryIds: [second] } = await publish(f);
      f.clock.advance(10);
      const { deliveryIds: [third] } = await publish(f);
      const [d] = await claim(f, { total: 1 });
      expect(d!.id).toBe(first!);
      await complete(f, [fail(f, d!, 15)]); // due again 15 ms after `third` was created
      f.clock.advance(100);
      const order: string[] = [];
      for (let round = 0; round < 3; round++) {
        const [next] = await claim(f, { total: 1 });
        order.push(next!.id);
        await complete(f, [ok(f, next!)]);
      }
      expect(order).toEqual([second!, third!, first!]);
    });

    test("does not claim a delivery before its next attempt is due", async () => {
      await addWebhook(f);
      await publish(f);
      const [d] = await claim(f);
      await complete(f, [fail(f, d!, 5 * SEC)]);
      expect(await claim(f)).toEqual([]);
      f.clock.advance(5 * SEC - 1);
      expect(await claim(f)).toEqual([]);
      f.clock.advance(1);
      const [again] = await claim(f);
      expect(again).toMatchObject({ id: d!.id, attempts: 1, schedule_attempts: 1 });
    });

    test("serves a cold endpoint within two rounds even behind a hot endpoint's backlog", async () => {
      const hot = await addWebhook(f, { events: ["hot.*"] });
      await addWebhook(f, { events: ["cold.*"] });
      await publishMany(f, 1000, "hot.x");
      f.clock.advance(1);
      const { deliveryIds: [cold] } = await publish(f, "cold.x");
      const rounds: ClaimedDelivery[][] = [];
      for (let round = 0; round < 2; round++) {
        f.clock.advance(1);
        rounds.push(await claim(f, { total: 4, perEndpoint: 1000 }));
      }
      expect(rounds.map((r) => r.length)).toEqual([4, 4]);
      expect(rounds.flat().map((d) => d.id)).toContain(cold!);
      expect(rounds[0]!.every((d) => d.webhook_id === hot.id)).toBe(true);
    });

    test("skips endpoints that are no longer active", async () => {
      const gone = await addWebhook(f);
      const kept = await addWebhook(f);
      await publish(f);
      await f.s.webhooks.remove(gone.id, f.clock.now());
      expect((await claim(f)).map((d) => d.webhook_id)).toEqual([kept.id]);
    });
  });

  describe("nextWakeAt", () => {
    test("is null when nothing is queued or leased", async () => {
      expect(await f.s.deliveries.nextWakeAt(1)).toBeNull();
      await addWebhook(f);
      await publish(f);
      const [d] = await claim(f);
      await complete(f, [ok(f, d!)]);
      expect(await f.s.deliveries.nextWakeAt(1)).toBeNull();
    });

    test("is at or before now when a delivery is due", async () => {
      await addWebhook(f);
      await publish(f);
      f.clock.advance(SEC);
      expect(await f.s.deliveries.nextWakeAt(1)).toBeLessThanOrEqual(f.clock.now());
    });

    test("is the due time of the earliest scheduled retry", async () => {
      await addWebhook(f);
      await publishMany(f, 2);
      const [a, b] = await claim(f);
      await complete(f, [fail(f, a!, 9 * SEC), fail(f, b!, 4 * SEC)]);
      expect(await f.s.deliveries.nextWakeAt(1)).toBe(f.clock.now() + 4 * SEC);
    });

    test("is the earliest lease end while every unfinished delivery is leased", async () => {
      await addWebhook(f);
      await publish(f);
      await claim(f, { leaseMs: 30 * SEC });
      f.clock.advance(SEC);
      expect(await f.s.deliveries.nextWakeAt(5)).toBe(f.clock.now() - SEC + 30 * SEC);
    });

    test("follows a raised perEndpoint from the next claim on", async () => {
      const full = await addWebhook(f, { events: ["full.*"] });
      await publishMany(f, 2, "full.x");
      expect(await claim(f, { perEndpoint: 1, leaseMs: 30 * SEC })).toHaveLength(1);
      expect(await f.s.deliveries.nextWakeAt(1)).toBe(f.clock.now() + 30 * SEC);
      const more = await claim(f, { perEndpoint: 2, leaseMs: 30 * SEC });
      expect(more.map((d) => d.webhook_id)).toEqual([full.id]);
    });

    test("ignores due work of an endpoint with no room under perEndpoint, but not its lease end", async () => {
      const full = await addWebhook(f, { events: ["full.*"] });
      const later = await addWebhook(f, { events: ["later.*"] });
      await publishMany(f, 2, "full.x");
      await publish(f, "later.x");
      const taken = await claim(f, { perEndpoint: 1, leaseMs: 30 * SEC });
      expect(taken.filter((d) => d.webhook_id === full.id)).toHaveLength(1);
      await complete(f, [fail(f, taken.find((d) => d.webhook_id === later.id)!, 5 * SEC)]);
      // `full` has a delivery due now but its one slot is taken: the next wake is `later`'s retry.
      expect(await f.s.deliveries.nextWakeAt(1)).toBe(f.clock.now() + 5 * SEC);
      f.clock.advance(6 * SEC);
      await claim(f, { perEndpoint: 1 });
      // Both slots are held now: only the first lease's end can bring work.
      expect(await f.s.deliveries.nextWakeAt(1)).toBe(f.clock.now() - 6 * SEC + 30 * SEC);
    });
  });
}
