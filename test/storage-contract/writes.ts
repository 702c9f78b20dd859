import { describe, expect, test } from "bun:test";
import { newId } from "../../src/ids";
import type { Storage, Tx } from "../../src/storage/types";
import { HOUR, MIN, addWebhook, anEvent, claim, type Fixture, webhookRecord } from "./harness";

const SCOPE = "key-1 POST /v1/things";

/** fanOutContract: an event and its deliveries are stored in one transaction, one delivery per routed active endpoint. */
export function fanOutContract(f: Fixture): void {
  // Seven endpoints: four routed by their filters, three that must never get a delivery.
  async function endpoints() {
    const all = await addWebhook(f, { events: ["*"] });
    const family = await addWebhook(f, { events: ["a.*"] });
    const exact = await addWebhook(f, { events: ["a.b"] });
    const twice = await addWebhook(f, { events: ["a.b", "a.*"] });
    const bornDisabled = await addWebhook(f, { events: ["*"], status: "disabled" });
    const disabled = await addWebhook(f, { events: ["*"] });
    await f.s.webhooks.update(disabled.id, { status: "disabled" }, f.clock.now());
    const deleted = await addWebhook(f, { events: ["*"] });
    await f.s.webhooks.remove(deleted.id, f.clock.now());
    return { all, family, exact, twice, bornDisabled, disabled, deleted };
  }

  describe("events.insert", () => {
    test.each([
      ["a.b", ["all", "family", "exact", "twice"]],
      ["a.b.c", ["all", "family", "twice"]],
      ["a", ["all"]],
      ["ab.c", ["all"]],
    ] as const)("makes one pending delivery for each active endpoint routed a %s event", async (type, expected) => {
      const eps = await endpoints();
      const event = anEvent(f, type);
      const result = await f.s.events.insert(event);
      const stored = await f.s.deliveries.listForEvent(event.id);
      const want = expected.map((name) => eps[name].id).sort();
      expect(result.deliveries).toBe(want.length);
      expect([...result.deliveryIds].sort()).toEqual(stored.map((d) => d.id).sort());
      expect(stored.map((d) => d.webhook_id).sort()).toEqual(want);
      for (const d of stored) {
        expect(d).toMatchObject({ event_id: event.id, event_type: type, status: "pending", attempts: 0, leased: false });
        expect(d.next_attempt_at).toBe(event.created_at);
      }
    });

    test("stores the event body byte for byte", async () => {
      const event = anEvent(f, "a.b", `{"n": 1.0, "s":"\\u00e9"}`);
      await f.s.events.insert(event);
      expect(await f.s.events.get(event.id)).toEqual(event);
    });

    test("onlyWebhook targets that endpoint whatever its filters say", async () => {
      const eps = await endpoints();
      const event = anEvent(f, "zzz.never");
      const result = await f.s.events.insert(event, { onlyWebhook: eps.exact.id });
      expect(result.deliveries).toBe(1);
      expect((await f.s.deliveries.listForEvent(event.id)).map((d) => d.webhook_id)).toEqual([eps.exact.id]);
    });

    test.each(["bornDisabled", "disabled", "deleted"] as const)("onlyWebhook to a %s endpoint makes no delivery", async (name) => {
      const eps = await endpoints();
      const event = anEvent(f, "a.b");
      expect((await f.s.events.insert(event, { onlyWebhook: eps[name].id })).deliveries).toBe(0);
      expect(await f.s.deliveries.listForEvent(event.id)).toEqual([]);
    });

    test("an event whose transaction throws leaves neither the event nor its deliveries", async () => {
      await addWebhook(f);
      const event = anEvent(f);
      const failing = f.s.tx(async (tx) => {
        expect((await tx.events.insert(event)).deliveries).toBe(1);
        throw new Error("after the insert");
      });
      await expect(failing).rejects.toThrow("after the insert");
      expect(await f.s.events.get(event.id)).toBeNull();
      expect(await f.s.deliveries.listForEvent(event.id)).toEqual([]);
      expect((await f.s.deliveries.countByStatus()).pending).toBe(0);
      expect(await f.s.deliveries.nextWakeAt(10)).toBeNull();
      expect(await claim(f)).toEqual([]);
    });
  });
}

type Made = (s: Storage) => Promise<unknown>;

// Each kind of object an idempotent admin POST may create, written through a Tx; returns how to read it back.
const creations: [string, (f: Fixture, tx: Tx) => Promise<Made>][] = [
  ["a webhook", async (f, tx) => {
    const w = webhookRecord(f);
    expect(await tx.webhooks.create(w, 100)).toBe("created");
    return (s) => s.webhooks.get(w.id);
  }],
  ["an event", async (f, tx) => {
    const e = anEvent(f);
    await tx.events.insert(e);
    return (s) => s.events.get(e.id);
  }],
  ["a resource", async (f, tx) => {
    const now = f.clock.now();
    const r = { id: newId("res"), type: "invoice", name: "INV-1", status: "open", metadata: {}, created_at: now, updated_at: now };
    await tx.resources.create(r, [anEvent(f, "resource.created")]);
    return (s) => s.resources.get(r.id);
  }],
];

/** txContract: writes given one Tx commit together or not at all. */
export function txContract(f: Fixture): void {
  describe("tx", () => {
    test("resolves with the function's result once its writes are readable", async () => {
      const w = webhookRecord(f);
      const answer = await f.s.tx(async (tx) => {
        await tx.webhooks.create(w, 100);
        return "done";
      });
      expect(answer).toBe("done");
      expect(await f.s.webhooks.get(w.id)).toEqual(w);
    });

    const failures = [
      ["commits the object and the stored answer together", "none"],
      ["a failure between the object and the answer leaves neither", "between"],
      ["a failure after both leaves neither", "after"],
    ] as const;
    const cases = creations.flatMap(([what, make]) => failures.map(([title, failAt]) => [what, title, failAt, make] as const));

    test.each(cases)("idempotent request creating %s: %s", async (_what, _title, failAt, make) => {
      expect((await f.s.idempotency.begin(SCOPE, "k", "hash", f.clock.now(), 24 * HOUR, MIN)).kind).toBe("started");
      let read: Made | null = null;
      const run = f.s.tx(async (tx) => {
        read = await make(f, tx);
        if (failAt === "between") throw new Error("failed between");
        await tx.idempotency.complete(SCOPE, "k", 201, `{"ok":true}`, "application/json", f.clock.now());
        if (failAt === "after") throw new Error("failed after");
      });
      const again = () => f.s.idempotency.begin(SCOPE, "k", "hash", f.clock.now(), 24 * HOUR, MIN);
      if (failAt === "none") {
        await run;
        expect(await read!(f.s)).not.toBeNull();
        expect(await again()).toEqual({ kind: "replay", status: 201, body: `{"ok":true}`, contentType: "application/json" });
      } else {
        await expect(run).rejects.toThrow("failed");
        expect(await read!(f.s)).toBeNull();
        expect(await again()).toEqual({ kind: "in_progress" });
      }
    });

    test("many concurrent transactions all commit", async () => {
      const made = Array.from({ length: 40 }, () => ({ w: webhookRecord(f), e: anEvent(f) }));
      await Promise.all(made.map(({ w, e }) => f.s.tx(async (tx) => {
        await tx.webhooks.create(w, 1000);
        await tx.events.insert(e);
      })));
      expect((await f.s.webhooks.list({ limit: 100 })).map((w) => w.id).sort()).toEqual(made.map((m) => m.w.id).sort());
      for (const { e } of made) expect(await f.s.events.get(e.id)).not.toBeNull();
    });

    test("one throwing transaction among concurrent ones loses only its own writes", async () => {
      const made = Array.from({ length: 20 }, () => webhookRecord(f));
      const settled = await Promise.allSettled(made.map((w, i) => f.s.tx(async (tx) => {
        await tx.webhooks.create(w, 1000);
        if (i === 7) throw new Error("only this one");
      })));
      expect(settled.map((r) => r.status)).toEqual(made.map((_, i) => (i === 7 ? "rejected" : "fulfilled")));
      const listed = (await f.s.webhooks.list({ limit: 100 })).map((w) => w.id).sort();
      expect(listed).toEqual(made.filter((_, i) => i !== 7).map((w) => w.id).sort());
    });
  });
}
