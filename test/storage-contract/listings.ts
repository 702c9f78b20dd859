import { describe, expect, test } from "bun:test";
import { newId } from "../../src/ids";
import type { DeliveryStatus, InboundStatus, PageQuery } from "../../src/storage/types";
import { SEC, addWebhook, anEvent, claim, complete, fail, type Fixture, ok, publish, publishMany } from "./harness";
import { acceptRequest, inboundRecord } from "./inbound";

type Listing = [name: string, seed: (f: Fixture, n: number) => Promise<string[]>, list: (f: Fixture, page: PageQuery) => Promise<{ id: string }[]>];

const listings: Listing[] = [
  ["webhooks.list", async (f, n) => {
    const made: string[] = [];
    for (let i = 0; i < n; i++) made.push((await addWebhook(f)).id);
    return made;
  }, (f, page) => f.s.webhooks.list(page)],
  ["events.list", async (f, n) => {
    const made: string[] = [];
    for (let i = 0; i < n; i++) made.push((await publish(f)).event.id);
    return made;
  }, (f, page) => f.s.events.list(page)],
  ["deliveries.listForWebhook", async (f, n) => {
    await addWebhook(f);
    return publishMany(f, n);
  }, async (f, page) => {
    const [w] = await f.s.webhooks.list({ limit: 1 });
    return f.s.deliveries.listForWebhook(w!.id, page);
  }],
  ["inbound.list", async (f, n) => {
    const made: string[] = [];
    for (let i = 0; i < n; i++) {
      const q = acceptRequest(f, { key: `k${i}` });
      await f.s.inbound.accept(q);
      made.push(q.record.id);
    }
    return made;
  }, (f, page) => f.s.inbound.list(page)],
  ["resources.list", async (f, n) => {
    const made: string[] = [];
    for (let i = 0; i < n; i++) {
      const now = f.clock.now();
      const id = newId("res");
      await f.s.resources.create({ id, type: "t", name: `r${i}`, status: "s", metadata: {}, created_at: now, updated_at: now }, []);
      made.push(id);
    }
    return made;
  }, (f, page) => f.s.resources.list(page)],
];

/** listingsContract: cursor pagination, listing filters, counters and what the backend says of itself. */
export function listingsContract(f: Fixture): void {
  describe("listings", () => {
    test.each(listings)("%s pages newest first by `before`, no row twice and none missing", async (_name, seed, list) => {
      const made = await seed(f, 8);
      const seen: string[][] = [];
      let before: string | undefined;
      // At most a few pages more than needed, so a cursor that does not move fails instead of looping.
      for (let pages = 0; pages < 6; pages++) {
        const page = (await list(f, { limit: 3, before })).map((r) => r.id);
        if (page.length === 0) break;
        seen.push(page);
        before = page.at(-1);
      }
      expect(seen.map((p) => p.length)).toEqual([3, 3, 2]);
      expect(seen.flat()).toEqual([...made].reverse());
    });

    test.each([
      ["a.*", ["a.b", "a.b.c", "a.z"]],
      ["a.b.*", ["a.b.c"]],
      ["a.b", ["a.b"]],
      ["b", []],
    ])("events.list type %s", async (type, want) => {
      for (const t of ["a", "a.b", "a.b.c", "ab.c", "a.z", "b.a", "a-b.c"]) await f.s.events.insert(anEvent(f, t));
      expect((await f.s.events.list({ limit: 20, type })).map((e) => e.type).sort()).toEqual(want);
    });

    test("events.list since keeps events created at or after it", async () => {
      const old = anEvent(f);
      await f.s.events.insert(old);
      f.clock.advance(SEC);
      const recent = anEvent(f);
      await f.s.events.insert(recent);
      expect((await f.s.events.list({ limit: 10, since: recent.created_at })).map((e) => e.id)).toEqual([recent.id]);
      expect(await f.s.events.typesSeen()).toEqual(["a.b"]);
    });

    test.each(["pending", "failed", "delivered", "expired"] as const)("deliveries.listForWebhook status %s", async (status: DeliveryStatus) => {
      const w = await addWebhook(f);
      await publishMany(f, 4);
      const [a, b, c] = await claim(f, { total: 3 });
      await complete(f, [fail(f, a!, SEC), ok(f, b!), fail(f, c!, null)]);
      const want = { pending: 1, failed: 1, delivered: 1, expired: 1 }[status];
      const rows = await f.s.deliveries.listForWebhook(w.id, { limit: 10, status });
      expect(rows.map((r) => r.status)).toEqual(Array(want).fill(status));
    });

    test.each([
      [{ source: "erp" }, 2],
      [{ source: "crm" }, 2],
      [{ status: "accepted" as InboundStatus }, 2],
      [{ status: "duplicate" as InboundStatus }, 1],
      [{ status: "rejected" as InboundStatus }, 1],
      [{ source: "erp", status: "rejected" as InboundStatus }, 0],
      [{ source: "crm", status: "rejected" as InboundStatus }, 1],
    ])("inbound.list filter %o", async (filter, want) => {
      await f.s.inbound.accept(acceptRequest(f, { key: "a" }));
      await f.s.inbound.accept(acceptRequest(f, { key: "a" })); // a duplicate
      await f.s.inbound.accept(acceptRequest(f, { key: "a", source: "crm" }));
      await f.s.inbound.logRejected(inboundRecord(f, { source: "crm", status: "rejected", reason: "invalid_token", body: null }));
      const rows = await f.s.inbound.list({ limit: 10, ...filter });
      expect(rows).toHaveLength(want);
      for (const r of rows) expect(r).toMatchObject(filter);
    });
  });

  describe("counters", () => {
    test("countByStatus, oldestUnfinishedAt and attemptsSince follow the queue", async () => {
      expect(await f.s.deliveries.countByStatus()).toEqual({ pending: 0, failed: 0, delivered: 0, expired: 0 });
      expect(await f.s.deliveries.oldestUnfinishedAt()).toBeNull();
      await addWebhook(f);
      const t0 = f.clock.now();
      await publishMany(f, 3);
      f.clock.advance(SEC);
      const [a, b] = await claim(f, { total: 2 });
      await complete(f, [ok(f, a!), fail(f, b!, SEC)]);
      expect(await f.s.deliveries.countByStatus()).toEqual({ pending: 1, failed: 1, delivered: 1, expired: 0 });
      expect(await f.s.deliveries.oldestUnfinishedAt()).toBe(t0);
      expect(await f.s.deliveries.attemptsSince(f.clock.now())).toBe(2);
      expect(await f.s.deliveries.attemptsSince(f.clock.now() + 1)).toBe(0);
    });
  });

  describe("facts", () => {
    test("checkWritable is true on a healthy database", async () => {
      expect(await f.s.checkWritable()).toBe(true);
    });

    test("describe names the backend and its location without credentials", async () => {
      const facts = await f.s.describe();
      expect(facts).toMatchObject(f.backend.facts);
      expect(facts.location).not.toMatch(/:\/\/[^/]*@/);
      expect(facts.bytes === null || facts.bytes > 0).toBe(true);
    });
  });
}
