import { describe, expect, test } from "bun:test";
import { newId } from "../../src/ids";
import { HOUR, SEC, addWebhook, claim, complete, fail, type Fixture, ids, ok, publish, publishMany } from "./harness";

/** requeueContract: retry and recover put finished or failed deliveries back in the queue. */
export function requeueContract(f: Fixture): void {
  // Brings one delivery to a status; returns its id.
  const setups = {
    failed: async () => {
      const [d] = await claim(f);
      await complete(f, [fail(f, d!, HOUR)]);
      return d!.id;
    },
    expired: async () => {
      const [d] = await claim(f);
      await complete(f, [fail(f, d!, null)]);
      return d!.id;
    },
    delivered: async () => {
      const [d] = await claim(f);
      await complete(f, [ok(f, d!)]);
      return d!.id;
    },
  };

  describe("retry", () => {
    test.each(["failed", "expired", "delivered"] as const)("makes a %s delivery pending now with a fresh schedule", async (status) => {
      await addWebhook(f);
      await publish(f);
      const id = await setups[status]();
      expect(await f.s.deliveries.get(id)).toMatchObject({ status });
      f.clock.advance(SEC);
      expect(await f.s.deliveries.retry(id, f.clock.now())).toBe("ok");
      expect(await f.s.deliveries.get(id)).toMatchObject({ status: "pending", next_attempt_at: f.clock.now(), leased: false, attempts: 1 });
      const [again] = await claim(f);
      expect(again).toMatchObject({ id, attempts: 1, schedule_attempts: 0 });
    });

    test.each([
      ["a leased delivery", "leased"],
      ["a pending one", "already_pending"],
      ["an unknown id", "not_found"],
    ] as const)("refuses %s: %s", async (what, answer) => {
      await addWebhook(f);
      const { deliveryIds: [id] } = await publish(f);
      if (what === "a leased delivery") await claim(f);
      const target = what === "an unknown id" ? newId("dlv") : id!;
      const before = await f.s.deliveries.get(target);
      expect(await f.s.deliveries.retry(target, f.clock.now() + SEC)).toBe(answer);
      expect(await f.s.deliveries.get(target)).toEqual(before);
    });

    test("a retry inside a transaction that throws is not kept", async () => {
      await addWebhook(f);
      await publish(f);
      const id = await setups.expired();
      const run = f.s.tx(async (tx) => {
        expect(await tx.deliveries.retry(id, f.clock.now())).toBe("ok");
        throw new Error("answer not stored");
      });
      await expect(run).rejects.toThrow("answer not stored");
      expect(await f.s.deliveries.get(id)).toMatchObject({ status: "expired", next_attempt_at: null });
      expect(await claim(f)).toEqual([]);
    });
  });

  describe("recover", () => {
    test("re-enqueues the endpoint's unleased failed and expired deliveries created since `since`", async () => {
      const w = await addWebhook(f, { events: ["a.*"] });
      const other = await addWebhook(f, { events: ["b.*"] });
      await publish(f);
      const [tooOld] = await claim(f);
      await complete(f, [fail(f, tooOld!, null)]);
      f.clock.advance(SEC);
      const since = f.clock.now();
      await publishMany(f, 4);
      await publish(f, "b.x");
      const taken = await claim(f);
      const [failed, expired, delivered, leasedLater] = taken.filter((d) => d.webhook_id === w.id);
      const otherEndpoint = taken.find((d) => d.webhook_id === other.id);
      await complete(f, [
        fail(f, failed!, HOUR), fail(f, expired!, null), ok(f, delivered!), fail(f, leasedLater!, SEC), fail(f, otherEndpoint!, null),
      ]);
      f.clock.advance(SEC);
      expect((await claim(f)).map((d) => d.id)).toEqual([leasedLater!.id]); // failed, and leased again
      const { deliveryIds: [pending] } = await publish(f);

      expect(await f.s.deliveries.recover(w.id, since, f.clock.now())).toBe(2);
      const status = async (id: string) => (await f.s.deliveries.get(id))?.status;
      expect(await f.s.deliveries.get(failed!.id)).toMatchObject({ status: "pending", next_attempt_at: f.clock.now(), attempts: 1 });
      expect(await status(expired!.id)).toBe("pending");
      expect(await status(tooOld!.id)).toBe("expired");
      expect(await status(delivered!.id)).toBe("delivered");
      expect(await f.s.deliveries.get(leasedLater!.id)).toMatchObject({ status: "failed", leased: true });
      expect(await status(otherEndpoint!.id)).toBe("expired");
      expect(ids(await claim(f))).toEqual([failed!.id, expired!.id, pending!].sort());
    });

    test("finds nothing to recover for an endpoint with only delivered work", async () => {
      const w = await addWebhook(f);
      await publish(f);
      await setups.delivered();
      expect(await f.s.deliveries.recover(w.id, 0, f.clock.now())).toBe(0);
      expect(await claim(f)).toEqual([]);
    });
  });
}
