import { describe, expect, test } from "bun:test";
import type { ClaimedDelivery } from "../../src/storage/types";
import { OWNER, SEC, addWebhook, claim, complete, fail, type Fixture, ids, ok, publish, publishMany } from "./harness";

/** leasesContract: a result counts only under the lease it was claimed with; lapsed, released and abandoned leases. */
export function leasesContract(f: Fixture): void {
  describe("complete under a lease", () => {
    test("records the attempt of a delivery whose lease is current", async () => {
      await addWebhook(f);
      await publish(f);
      const [d] = await claim(f);
      const result = ok(f, d!, { durationMs: 34, response: "fine" });
      expect(await complete(f, [result])).toEqual({ disabled: [], stale: [] });
      expect(await f.s.deliveries.attempts(d!.id)).toEqual([{
        id: result.attemptId, delivery_id: d!.id, attempted_at: result.attemptedAt, status_code: 200, duration_ms: 34, error: null,
        response: "fine",
      }]);
      expect(await f.s.deliveries.get(d!.id)).toMatchObject({ status: "delivered", attempts: 1, leased: false });
    });

    test.each([
      ["a made-up token", (d: ClaimedDelivery) => `${d.lease}-not`],
      ["another claim's token", (_d: ClaimedDelivery, other: ClaimedDelivery) => other.lease],
    ])("drops a result carrying %s and lists it as stale", async (_name, token) => {
      await addWebhook(f);
      await publishMany(f, 2);
      const [d] = await claim(f, { total: 1 });
      const [other] = await claim(f, { total: 1 });
      expect(other!.lease).not.toBe(d!.lease);
      const out = await complete(f, [fail(f, d!, null, { lease: token(d!, other!) })]);
      expect(out).toEqual({ disabled: [], stale: [d!.id] });
      expect(await f.s.deliveries.attempts(d!.id)).toEqual([]);
      expect(await f.s.deliveries.get(d!.id)).toMatchObject({ status: "pending", attempts: 0, leased: true });
      expect((await f.s.webhooks.get(d!.webhook_id))?.failure_count).toBe(0);
      expect(await complete(f, [ok(f, d!)])).toEqual({ disabled: [], stale: [] });
    });

    test("a lapsed lease is taken back by the next claim, re-leased under a new token, and the old token is stale", async () => {
      await addWebhook(f);
      await publish(f);
      const [first] = await claim(f, { leaseMs: 10 * SEC });
      f.clock.advance(10 * SEC - 1);
      expect(await claim(f, { leaseMs: 10 * SEC })).toEqual([]);
      f.clock.advance(1);
      const [second] = await claim(f, { leaseMs: 10 * SEC, perEndpoint: 1 });
      expect(second?.id).toBe(first!.id);
      expect(second!.lease).not.toBe(first!.lease);
      expect(await complete(f, [ok(f, first!)])).toEqual({ disabled: [], stale: [first!.id] });
      expect(await f.s.deliveries.attempts(first!.id)).toEqual([]);
      expect(await complete(f, [ok(f, second!)])).toEqual({ disabled: [], stale: [] });
      expect(await f.s.deliveries.get(first!.id)).toMatchObject({ status: "delivered", attempts: 1 });
    });

    test.each([
      ["deleted", "endpoint_deleted"],
      ["disabled", "endpoint_disabled"],
    ] as const)("a lapsed lease of an endpoint %s meanwhile expires its delivery instead of leaving it pending", async (how, reason) => {
      const w = await addWebhook(f);
      await publish(f);
      const [d] = await claim(f, { leaseMs: 10 * SEC });
      if (how === "deleted") await f.s.webhooks.remove(w.id, f.clock.now());
      else await f.s.webhooks.update(w.id, { status: "disabled" }, f.clock.now());
      f.clock.advance(10 * SEC);
      expect(await claim(f)).toEqual([]);
      // Its worker's report is stale now, so nothing else would ever finish it.
      expect(await complete(f, [fail(f, d!, SEC)])).toEqual({ disabled: [], stale: [d!.id] });
      expect(await f.s.deliveries.get(d!.id)).toMatchObject({ status: "expired", next_attempt_at: null, leased: false, last_error: reason });
      expect(await f.s.deliveries.oldestUnfinishedAt()).toBeNull();
    });

    test("a lease token is never handed out again, even after a restart", async () => {
      await addWebhook(f);
      await publish(f);
      const [before] = await claim(f);
      const s = await f.backend.reopen();
      await s.deliveries.releaseAbandoned(OWNER, f.clock.now());
      const [after] = await claim(f);
      expect(after?.id).toBe(before!.id);
      expect(after!.lease).not.toBe(before!.lease);
      expect(await complete(f, [ok(f, before!)])).toEqual({ disabled: [], stale: [before!.id] });
    });
  });

  describe("release", () => {
    test("makes the given leased deliveries due now and frees their endpoint's slots", async () => {
      await addWebhook(f);
      await publishMany(f, 2);
      const taken = await claim(f, { perEndpoint: 2 });
      f.clock.advance(SEC);
      expect(await f.s.deliveries.release(taken, f.clock.now())).toBe(2);
      for (const d of taken) expect(await f.s.deliveries.get(d.id)).toMatchObject({ leased: false, next_attempt_at: f.clock.now(), attempts: 0 });
      expect(ids(await claim(f, { perEndpoint: 2 }))).toEqual(ids(taken));
    });

    test("ignores a lease token that is not current", async () => {
      await addWebhook(f);
      await publish(f);
      const [d] = await claim(f);
      expect(await f.s.deliveries.release([{ id: d!.id, lease: `${d!.lease}-not` }], f.clock.now())).toBe(0);
      expect(await f.s.deliveries.get(d!.id)).toMatchObject({ leased: true });
      expect(await claim(f)).toEqual([]);
    });
  });

  describe("releaseAbandoned", () => {
    test("at start makes the previous run's leases due at once, with their slots free", async () => {
      await addWebhook(f);
      await publishMany(f, 3);
      const taken = await claim(f, { perEndpoint: 3 });
      const s = await f.backend.reopen();
      expect(await s.deliveries.releaseAbandoned(OWNER, f.clock.now())).toBe(3);
      for (const d of taken) expect(await s.deliveries.get(d.id)).toMatchObject({ leased: false, status: "pending" });
      expect(ids(await claim(f, { perEndpoint: 3 }))).toEqual(ids(taken));
    });

    test.each([
      ["deleted", "endpoint_deleted"],
      ["disabled", "endpoint_disabled"],
    ] as const)("expires the unfinished deliveries of an endpoint %s while they were leased", async (how, reason) => {
      const w = await addWebhook(f);
      await publish(f);
      const [d] = await claim(f);
      // Leased work is left to its worker, which then dies with the process.
      if (how === "deleted") await f.s.webhooks.remove(w.id, f.clock.now());
      else await f.s.webhooks.update(w.id, { status: "disabled" }, f.clock.now());
      const s = await f.backend.reopen();
      await s.deliveries.releaseAbandoned(OWNER, f.clock.now());
      expect(await s.deliveries.get(d!.id)).toMatchObject({ status: "expired", next_attempt_at: null, leased: false, last_error: reason });
      expect(await s.deliveries.oldestUnfinishedAt()).toBeNull();
      expect(await s.deliveries.nextWakeAt(1)).toBeNull();
    });

    test("leaves finished and scheduled deliveries as they are", async () => {
      await addWebhook(f);
      await publishMany(f, 2);
      const [done, retried] = await claim(f);
      await complete(f, [ok(f, done!), fail(f, retried!, 5 * SEC)]);
      const s = await f.backend.reopen();
      expect(await s.deliveries.releaseAbandoned(OWNER, f.clock.now())).toBe(0);
      expect(await s.deliveries.get(done!.id)).toMatchObject({ status: "delivered" });
      expect(await s.deliveries.get(retried!.id)).toMatchObject({ status: "failed", next_attempt_at: f.clock.now() + 5 * SEC });
    });
  });
}
