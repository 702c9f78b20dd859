import { describe, expect, test } from "bun:test";
import type { PruneCutoffs } from "../../src/storage/types";
import { DAY, HOUR, MIN, SEC, addWebhook, anEvent, claim, complete, fail, type Fixture, ok, publish } from "./harness";
import { acceptRequest, inboundRecord } from "./inbound";

/** retentionContract: prune removes what is finished and old, and never work still owed. */
export function retentionContract(f: Fixture): void {
  const limit = { count: 1, windowMs: MIN };

  // Ten days of history: what prune may take is all older than a day, beside what it must keep.
  async function history() {
    const unrouted = anEvent(f, "nobody.listens");
    await f.s.events.insert(unrouted);
    const oldInbound = acceptRequest(f, { key: null, limit });
    await f.s.inbound.accept(oldInbound);
    const rejected = inboundRecord(f, { status: "rejected", reason: "invalid_token", body: null });
    await f.s.inbound.logRejected(rejected);
    await f.s.idempotency.begin("s", "old", "h", f.clock.now(), HOUR, MIN);
    await f.s.idempotency.complete("s", "old", 201, "{}", "application/json", f.clock.now());

    await addWebhook(f, { events: ["a.*"] });
    const delivered = await publish(f);
    const expired = await publish(f);
    const failed = await publish(f);
    const leased = await publish(f);
    const taken = await claim(f, { leaseMs: 30 * DAY });
    const byEvent = (id: string) => taken.find((d) => d.event_id === id)!;
    await complete(f, [ok(f, byEvent(delivered.event.id)), fail(f, byEvent(expired.event.id), null), fail(f, byEvent(failed.event.id), 30 * DAY)]);
    const pending = await publish(f);

    f.clock.advance(10 * DAY);
    const fresh = await publish(f);
    const due = await claim(f);
    await complete(f, due.filter((d) => d.event_id === fresh.event.id).map((d) => ok(f, d)));
    await f.s.deliveries.release(due.filter((d) => d.event_id !== fresh.event.id), f.clock.now());
    const freshInbound = acceptRequest(f, { key: null, limit });
    await f.s.inbound.accept(freshInbound);
    await f.s.idempotency.begin("s", "fresh", "h", f.clock.now(), HOUR, MIN);
    const gone = { events: [unrouted.id, oldInbound.event.id, delivered.event.id, expired.event.id], deliveries: [delivered, expired] };
    const kept = { events: [failed, leased, pending].map((p) => p.event.id), deliveries: [failed, leased, pending] };
    return { gone, kept, rejected, oldInbound, freshInbound };
  }

  const cutoffs = (): PruneCutoffs => {
    const now = f.clock.now();
    return { now, deliveriesBefore: now - DAY, eventsBefore: now - DAY, inboundBefore: now - DAY, rateWindowsBefore: now - DAY, auditBefore: now - DAY };
  };

  describe("maintenance.prune", () => {
    test.each([["one batch", undefined], ["batches of one", 1]] as const)(
      "removes finished deliveries with their attempts, events owed nothing, old inbound, expired keys and old windows (%s)",
      async (_name, batch) => {
        const h = await history();
        const attempted = h.gone.deliveries.map((p) => p.deliveryIds[0]!);
        expect(await f.s.maintenance.prune(cutoffs(), batch)).toEqual({ deliveries: 2, events: 4, inbound: 2, idempotencyKeys: 1, rateWindows: 1, audit: 0 });
        for (const id of h.gone.events) expect(await f.s.events.get(id)).toBeNull();
        for (const id of attempted) {
          expect(await f.s.deliveries.get(id)).toBeNull();
          expect(await f.s.deliveries.attempts(id)).toEqual([]);
        }
        expect(await f.s.inbound.get(h.rejected.id)).toBeNull();
        expect(await f.s.inbound.get(h.oldInbound.record.id)).toBeNull();
        expect(await f.s.inbound.get(h.freshInbound.record.id)).not.toBeNull();
        // The current window still counts its request.
        expect((await f.s.inbound.accept(acceptRequest(f, { key: null, limit }))).kind).toBe("rate_limited");
        expect(await f.s.idempotency.begin("s", "fresh", "h", f.clock.now(), HOUR, MIN)).toEqual({ kind: "in_progress" });
      },
    );

    test("never removes an event or delivery still owed an attempt, however old", async () => {
      const h = await history();
      await f.s.maintenance.prune({ ...cutoffs(), deliveriesBefore: f.clock.now() + DAY, eventsBefore: f.clock.now() + DAY });
      for (const id of h.kept.events) expect(await f.s.events.get(id)).not.toBeNull();
      const [failed, leased, pending] = h.kept.deliveries.map((p) => p.deliveryIds[0]!);
      expect(await f.s.deliveries.get(failed!)).toMatchObject({ status: "failed" });
      expect(await f.s.deliveries.attempts(failed!)).toHaveLength(1);
      expect(await f.s.deliveries.get(leased!)).toMatchObject({ leased: true });
      expect(await f.s.deliveries.get(pending!)).toMatchObject({ status: "pending" });
      expect(await f.s.deliveries.countByStatus()).toEqual({ pending: 2, failed: 1, delivered: 0, expired: 0 });
    });

    test("a second run finds nothing more", async () => {
      await history();
      await f.s.maintenance.prune(cutoffs());
      f.clock.advance(SEC);
      expect(await f.s.maintenance.prune(cutoffs())).toEqual({ deliveries: 0, events: 0, inbound: 0, idempotencyKeys: 0, rateWindows: 0, audit: 0 });
    });
  });
}
