import { describe, expect, test } from "bun:test";
import { LANE_WAITING } from "../../src/storage/types";
import { DAY, HOUR, SEC, complete, fail, type Fixture, ok, publish } from "./harness";
import { addEndpoint, claimNow, deliverAll, publishData } from "./options-contract";

/** lanesContract: SPEC §9 FIFO — positions per lane, only the head due, one in flight per lane, resends keep their place. */
export function lanesContract(f: Fixture): void {
  const fifo = (key: string | null = "/k") => addEndpoint(f, { ordering: "fifo", ordering_key: key });
  const lane = async (k: string, n: number) => {
    const made: string[] = [];
    for (let i = 0; i < n; i++) made.push(...(await publishData(f, { k, i })));
    return made;
  };
  const record = async (id: string) => (await f.s.deliveries.get(id))!;

  describe("FIFO lanes", () => {
    test("numbers each lane's deliveries 1, 2, 3 in the order they are stored", async () => {
      const keyed = await fifo();
      const single = await fifo(null);
      const x = await lane("x", 3);
      await lane("y", 2);
      const [noKey] = await publishData(f, { other: 1 });
      const rows = await f.s.deliveries.listForWebhook(keyed.id, { limit: 100 });
      const seq = (l: string) => rows.filter((r) => r.lane === l).map((r) => r.sequence).sort();
      expect(seq('"x"')).toEqual([1, 2, 3]);
      expect(seq('"y"')).toEqual([1, 2]);
      expect(seq("")).toEqual([1]);
      expect((await record(x[0]!)).lane).toBe('"x"');
      expect(noKey).toBeDefined();
      const one = await f.s.deliveries.listForWebhook(single.id, { limit: 100 });
      expect(one.map((r) => [r.lane, r.sequence]).sort()).toEqual(Array.from({ length: 6 }, (_, i) => ["", i + 1]));
    });

    test("only the head is due; the others wait pending, unleased, at LANE_WAITING", async () => {
      await fifo(null);
      const ids = await lane("x", 3);
      const claimed = await claimNow(f);
      expect(claimed.map((d) => [d.id, d.sequence])).toEqual([[ids[0]!, 1]]);
      for (const id of ids.slice(1)) {
        expect(await record(id)).toMatchObject({ status: "pending", attempts: 0, leased: false, next_attempt_at: LANE_WAITING });
      }
      expect(await f.s.deliveries.nextWakeAt(1000)).toBe(f.clock.now() + 50 * SEC);
    });

    test("a failing head holds its lane back across retries; delivered, the next goes at once", async () => {
      await fifo(null);
      const ids = await lane("x", 3);
      let [head] = await claimNow(f);
      await complete(f, [fail(f, head!, 5 * SEC)]);
      expect(await claimNow(f)).toEqual([]);
      expect(await f.s.deliveries.nextWakeAt(1000)).toBe(f.clock.now() + 5 * SEC);
      f.clock.advance(HOUR);
      [head] = await claimNow(f);
      expect(head).toMatchObject({ id: ids[0], attempts: 1, sequence: 1 });
      expect(await claimNow(f)).toEqual([]);
      await complete(f, [ok(f, head!)]);
      expect(await record(ids[1]!)).toMatchObject({ status: "pending", next_attempt_at: f.clock.now() });
      expect(await deliverAll(f)).toEqual(ids.slice(1));
    });

    test("when the head expires, the next in line goes", async () => {
      await fifo(null);
      const ids = await lane("x", 2);
      const [head] = await claimNow(f);
      await complete(f, [fail(f, head!, null)]);
      expect(await record(ids[0]!)).toMatchObject({ status: "expired" });
      expect((await claimNow(f)).map((d) => [d.id, d.sequence])).toEqual([[ids[1]!, 2]]);
    });

    test("a released head stays the head", async () => {
      await fifo(null);
      const ids = await lane("x", 2);
      const [head] = await claimNow(f);
      expect(await f.s.deliveries.release([head!], f.clock.now())).toBe(1);
      expect((await claimNow(f)).map((d) => d.id)).toEqual([ids[0]!]);
    });

    test("lanes of one endpoint run in parallel, one in flight per lane, within perEndpoint", async () => {
      await fifo();
      const x = await lane("x", 3);
      const y = await lane("y", 3);
      const z = await lane("z", 3);
      const first = await claimNow(f);
      expect(first.map((d) => d.id).sort()).toEqual([x[0]!, y[0]!, z[0]!].sort());
      await complete(f, first.map((d) => ok(f, d)));
      const limited = await claimNow(f, { perEndpoint: 2 });
      expect(limited).toHaveLength(2);
      expect(limited.every((d) => d.sequence === 2)).toBe(true);
    });

    test("a retried lane delivery waits behind the lane's head, then runs before higher positions", async () => {
      await fifo(null);
      const ids = await lane("x", 3);
      const [first] = await claimNow(f);
      await complete(f, [ok(f, first!)]);
      const [second] = await claimNow(f);
      expect(second!.id).toBe(ids[1]!);
      expect(await f.s.deliveries.retry(ids[0]!, f.clock.now())).toBe("waiting");
      expect(await record(ids[0]!)).toMatchObject({ status: "pending", sequence: 1, next_attempt_at: LANE_WAITING });
      expect(await claimNow(f)).toEqual([]);
      await complete(f, [ok(f, second!)]);
      expect(await deliverAll(f)).toEqual([ids[0]!, ids[2]!]);
    });

    test("a retried lane delivery whose lane is idle is its head at once", async () => {
      await fifo(null);
      const ids = await lane("x", 2);
      expect(await deliverAll(f)).toEqual(ids);
      f.clock.advance(SEC);
      expect(await f.s.deliveries.retry(ids[1]!, f.clock.now())).toBe("ok");
      expect(await f.s.deliveries.retry(ids[0]!, f.clock.now())).toBe("waiting");
      expect(await record(ids[1]!)).toMatchObject({ next_attempt_at: f.clock.now() });
      expect(await record(ids[0]!)).toMatchObject({ next_attempt_at: LANE_WAITING });
      expect((await claimNow(f)).map((d) => [d.id, d.sequence])).toEqual([[ids[1]!, 2]]);
    });

    test("recover with a failed head behind an expired lower position sends the lower one first", async () => {
      const w = await fifo(null);
      const ids = await lane("x", 3);
      // Position 1 expires; 2 becomes the head and fails with a retry an hour away.
      const [first] = await claimNow(f);
      await complete(f, [fail(f, first!, null)]);
      const [second] = await claimNow(f);
      expect(second!.id).toBe(ids[1]!);
      await complete(f, [fail(f, second!, f.clock.now() + HOUR)]);
      f.clock.advance(SEC);
      expect(await f.s.deliveries.recover(w.id, 0, f.clock.now())).toBe(2);
      expect(await deliverAll(f)).toEqual([ids[0]!, ids[1]!, ids[2]!]);
    });

    test("recover sends a lane again in position order, one at a time", async () => {
      const w = await fifo();
      const x = await lane("x", 3);
      const y = await lane("y", 2);
      for (let i = 0; i < 3; i++) await complete(f, (await claimNow(f)).map((d) => fail(f, d, null)));
      expect((await f.s.deliveries.listForWebhook(w.id, { limit: 10 })).every((d) => d.status === "expired")).toBe(true);
      f.clock.advance(SEC);
      expect(await f.s.deliveries.recover(w.id, 0, f.clock.now())).toBe(5);
      const order = await deliverAll(f);
      expect(order.filter((id) => x.includes(id))).toEqual(x);
      expect(order.filter((id) => y.includes(id))).toEqual(y);
      const first = await f.s.deliveries.get(x[0]!);
      expect(first).toMatchObject({ status: "delivered", sequence: 1 });
    });

    test("recover of a lane whose head is in flight leaves the recovered ones waiting behind it", async () => {
      const w = await fifo(null);
      const ids = await lane("x", 3);
      const [head] = await claimNow(f);
      await complete(f, [fail(f, head!, null)]);
      const [second] = await claimNow(f);
      expect(await f.s.deliveries.recover(w.id, 0, f.clock.now())).toBe(1);
      expect(await claimNow(f)).toEqual([]);
      await complete(f, [ok(f, second!)]);
      expect(await deliverAll(f)).toEqual([ids[0]!, ids[2]!]);
    });

    test("a webhook.test delivery is outside lanes and runs beside the head", async () => {
      const w = await fifo(null);
      await lane("x", 2);
      const [head] = await claimNow(f);
      const { deliveryIds: [probe] } = await publish(f, "webhook.test", { onlyWebhook: w.id });
      expect(await record(probe!)).toMatchObject({ lane: null, sequence: null });
      expect((await claimNow(f)).map((d) => [d.id, d.sequence])).toEqual([[probe!, null]]);
      expect(head!.sequence).toBe(1);
    });

    test("a lane whose deliveries were expired by disabling goes on after re-enabling", async () => {
      const w = await fifo(null);
      const ids = await lane("x", 2);
      await f.s.webhooks.update(w.id, { status: "disabled" }, f.clock.now());
      expect(await record(ids[1]!)).toMatchObject({ status: "expired" });
      await f.s.webhooks.update(w.id, { status: "active" }, f.clock.now());
      const [next] = await lane("x", 1);
      expect((await claimNow(f)).map((d) => [d.id, d.sequence])).toEqual([[next!, 3]]);
    });

    test("deliveries stored concurrently get distinct, gapless positions", async () => {
      const w = await fifo(null);
      await Promise.all(Array.from({ length: 20 }, (_, i) => publishData(f, { i })));
      const rows = await f.s.deliveries.listForWebhook(w.id, { limit: 100 });
      expect(rows.map((r) => r.sequence).sort((a, b) => a! - b!)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
      expect(await claimNow(f)).toHaveLength(1);
    });

    test("changing ordering applies to deliveries stored afterwards", async () => {
      const w = await fifo(null);
      const before = await lane("x", 2);
      await f.s.webhooks.update(w.id, { ordering: "none" }, f.clock.now());
      const after = await lane("x", 2);
      expect(await record(after[0]!)).toMatchObject({ lane: null, sequence: null });
      const claimed = await claimNow(f);
      expect(claimed.map((d) => d.id).sort()).toEqual([before[0]!, ...after].sort());
      await complete(f, claimed.map((d) => ok(f, d)));
      expect(await deliverAll(f)).toEqual([before[1]!]);
    });

    test("retention keeps a lane with unfinished work numbering on", async () => {
      await fifo(null);
      const ids = await lane("x", 3);
      const [first] = await claimNow(f);
      await complete(f, [ok(f, first!)]);
      const [second] = await claimNow(f);
      await complete(f, [fail(f, second!, 20 * DAY)]);
      f.clock.advance(10 * DAY);
      const now = f.clock.now();
      await f.s.maintenance.prune({ now, deliveriesBefore: now, eventsBefore: now, inboundBefore: now, rateWindowsBefore: now, auditBefore: now });
      expect(await f.s.deliveries.get(ids[0]!)).toBeNull();
      const [later] = await lane("x", 1);
      expect(await record(later!)).toMatchObject({ sequence: 4, next_attempt_at: LANE_WAITING });
      f.clock.advance(10 * DAY);
      expect(await deliverAll(f)).toEqual([ids[1]!, ids[2]!, later!]);
    });
  });
}
