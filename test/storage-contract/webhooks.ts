import { describe, expect, test } from "bun:test";
import { newId } from "../../src/ids";
import type { ResourceRecord } from "../../src/storage/types";
import { SEC, addWebhook, anEvent, claim, type Fixture, publish, webhookRecord } from "./harness";

/** webhooksContract: endpoint changes and what they do to the queue; the resource registry. */
export function webhooksContract(f: Fixture): void {
  describe("webhooks", () => {
    test("create refuses past maxEndpoints live endpoints; deleted ones do not count", async () => {
      const a = await addWebhook(f);
      expect(await f.s.webhooks.create(webhookRecord(f), 2)).toBe("created");
      expect(await f.s.webhooks.create(webhookRecord(f), 2)).toBe("limit_reached");
      await f.s.webhooks.remove(a.id, f.clock.now());
      expect(await f.s.webhooks.create(webhookRecord(f), 2)).toBe("created");
    });

    test("update applies only the fields given and stamps updated_at", async () => {
      const w = await addWebhook(f, { description: "before", events: ["a.*"] });
      f.clock.advance(SEC);
      const after = await f.s.webhooks.update(w.id, { description: "after" }, f.clock.now());
      expect(after).toEqual({ ...w, description: "after", updated_at: f.clock.now() });
      expect(await f.s.webhooks.get(w.id)).toEqual(after);
      expect(await f.s.webhooks.update(newId("wh"), { description: "x" }, f.clock.now())).toBeNull();
    });

    test.each([
      ["disabling", "endpoint_disabled"],
      ["deleting", "endpoint_deleted"],
    ] as const)("%s an endpoint expires its unleased unfinished deliveries and stops routing to it", async (how, reason) => {
      const w = await addWebhook(f);
      const { deliveryIds } = await publish(f);
      const now = f.clock.now();
      if (how === "disabling") await f.s.webhooks.update(w.id, { status: "disabled" }, now);
      else expect(await f.s.webhooks.remove(w.id, now)).toBe(true);
      expect(await f.s.deliveries.get(deliveryIds[0]!)).toMatchObject({ status: "expired", next_attempt_at: null, last_error: reason });
      expect((await publish(f)).deliveryIds).toEqual([]);
      expect(await f.s.webhooks.active()).toEqual([]);
      expect(await claim(f)).toEqual([]);
      expect(await f.s.deliveries.nextWakeAt(10)).toBeNull();
    });

    test("deleting an endpoint drops its credentials: secret, previous secret and headers", async () => {
      const w = await addWebhook(f, { headers: { Authorization: "Bearer contract-header-token" } });
      await f.s.webhooks.rotateSecret(w.id, "whsec_Y29udHJhY3Qtcm90YXRlZC1zZWNyZXQtdmFsdWU=", f.clock.now() + 86_400_000, f.clock.now());
      expect(await f.s.webhooks.remove(w.id, f.clock.now())).toBe(true);
      const gone = await f.s.webhooks.getAny(w.id);
      expect(gone).toMatchObject({ id: w.id, deleted: true, secret: "", headers: null });
      expect(JSON.stringify(gone)).not.toContain("contract-header-token");
      expect(JSON.stringify(gone)).not.toContain(w.secret);
    });

    test("a deleted endpoint is hidden from get and list but its history stays readable", async () => {
      const w = await addWebhook(f);
      const { deliveryIds } = await publish(f);
      expect(await f.s.webhooks.remove(w.id, f.clock.now())).toBe(true);
      expect(await f.s.webhooks.remove(w.id, f.clock.now())).toBe(false);
      expect(await f.s.webhooks.get(w.id)).toBeNull();
      expect(await f.s.webhooks.list({ limit: 10 })).toEqual([]);
      expect(await f.s.webhooks.getAny(w.id)).toMatchObject({ id: w.id, url: w.url, deleted: true });
      expect((await f.s.deliveries.listForWebhook(w.id, { limit: 10 })).map((d) => d.id)).toEqual(deliveryIds);
    });

    test("re-enabling an endpoint makes it routed and claimable again", async () => {
      const w = await addWebhook(f);
      await f.s.webhooks.update(w.id, { status: "disabled" }, f.clock.now());
      await f.s.webhooks.update(w.id, { status: "active" }, f.clock.now());
      expect((await f.s.webhooks.active()).map((e) => e.id)).toEqual([w.id]);
      const { deliveryIds } = await publish(f);
      expect((await claim(f)).map((d) => d.id)).toEqual(deliveryIds);
    });

    test("changing an endpoint's filters changes where the next event goes", async () => {
      const w = await addWebhook(f, { events: ["a.*"] });
      expect((await publish(f, "b.c")).deliveryIds).toEqual([]);
      await f.s.webhooks.update(w.id, { events: ["b.*"] }, f.clock.now());
      expect(await f.s.webhooks.active()).toEqual([{ id: w.id, events: ["b.*"], ordering: "none", ordering_key: null, filter: null }]);
      expect((await publish(f, "b.c")).deliveryIds).toHaveLength(1);
    });

    test("rotateSecret signs with both secrets, newest first, until previousUntil", async () => {
      const w = await addWebhook(f, { secret: "whsec_old" });
      await publish(f);
      const rotated = await f.s.webhooks.rotateSecret(w.id, "whsec_new", f.clock.now() + 10 * SEC, f.clock.now());
      expect(rotated?.secret).toBe("whsec_new");
      const [during] = await claim(f);
      expect(during?.secrets).toEqual(["whsec_new", "whsec_old"]);
      await f.s.deliveries.release([during!], f.clock.now());
      f.clock.advance(10 * SEC);
      const [after] = await claim(f);
      expect(after?.secrets).toEqual(["whsec_new"]);
      expect(await f.s.webhooks.rotateSecret(newId("wh"), "x", 0, 0)).toBeNull();
    });
  });

  describe("resources", () => {
    const resource = (): ResourceRecord => {
      const now = f.clock.now();
      return { id: newId("res"), type: "invoice", name: "INV-1", status: "open", metadata: { n: 1 }, created_at: now, updated_at: now };
    };

    test("create, update and remove store their events (fanned out) with the change", async () => {
      await addWebhook(f, { events: ["resource.*"] });
      const r = resource();
      const created = anEvent(f, "resource.created");
      await f.s.resources.create(r, [created]);
      expect(await f.s.resources.get(r.id)).toEqual(r);
      expect(await f.s.deliveries.listForEvent(created.id)).toHaveLength(1);

      const changed = anEvent(f, "resource.updated");
      const after = await f.s.resources.update(r.id, (before) => ({ after: { ...before, status: "paid" }, events: [changed] }));
      expect(after).toEqual({ ...r, status: "paid" });
      expect(await f.s.resources.get(r.id)).toEqual({ ...r, status: "paid" });
      expect(await f.s.events.get(changed.id)).not.toBeNull();

      const removed = anEvent(f, "resource.deleted");
      expect(await f.s.resources.remove(r.id, (last) => [{ ...removed, body: JSON.stringify(last) }])).toEqual({ ...r, status: "paid" });
      expect(await f.s.resources.get(r.id)).toBeNull();
      expect((await f.s.events.get(removed.id))?.body).toBe(JSON.stringify({ ...r, status: "paid" }));
    });

    test("update hands the change the current row and stores nothing when it returns null", async () => {
      const r = resource();
      await f.s.resources.create(r, []);
      const seen: ResourceRecord[] = [];
      await f.s.resources.update(r.id, (before) => (seen.push(before), null));
      expect(seen).toEqual([r]);
      expect(await f.s.events.list({ limit: 10 })).toEqual([]);
      expect(await f.s.resources.update(newId("res"), () => null)).toBeNull();
      expect(await f.s.resources.remove(newId("res"), () => [])).toBeNull();
    });

    test("concurrent updates each see the other's write", async () => {
      const r = resource();
      await f.s.resources.create(r, []);
      const bump = () => f.s.resources.update(r.id, (b) => ({ after: { ...b, metadata: { n: (b.metadata.n as number) + 1 } }, events: [] }));
      await Promise.all(Array.from({ length: 10 }, bump));
      expect((await f.s.resources.get(r.id))?.metadata).toEqual({ n: 11 });
    });
  });
}
