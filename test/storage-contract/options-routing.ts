import { describe, expect, test } from "bun:test";
import { buildEvent } from "../../src/events/envelope";
import { newId } from "../../src/ids";
import type { EventRecord, FilterVerdicts, ResourceRecord } from "../../src/storage/types";
import { type Fixture, SEC } from "./harness";
import { acceptRequest } from "./inbound";
import { addEndpoint, claimNow } from "./options-contract";

const FILTER = `{"source":"psft-payroll","data.severity":{"$in":["error","critical"]}}`;
const TRANSFORM = `"<alert>" & data.message & "</alert>"`;
const ROUTING = { filter: FILTER, transform: TRANSFORM, content_type: "application/xml" };

/** sourcedEvent is an event from inbound source `source` (null: from the API), created now. */
function sourcedEvent(f: Fixture, source: string | null, verdicts?: FilterVerdicts): EventRecord {
  const e = buildEvent("a.b", `{"severity":"error","message":"batch 7"}`, source === null ? "api" : "inbound", f.clock.now(), source);
  return verdicts === undefined ? e : { ...e, verdicts };
}

/** stored is an event as reads return it: everything but the verdicts, which are never stored. */
function stored(e: EventRecord): EventRecord {
  const { verdicts: _verdicts, ...rest } = e;
  return rest;
}

/**
 * routingContract checks SPEC §10's routing data as storage keeps it (issue 17): the endpoint's filter,
 * transform and content type, the event's inbound source, and that routing is handed the event exactly
 * as given (with the filter verdicts worked out before the transaction).
 */
export function routingContract(f: Fixture): void {
  describe("routing options", () => {
    test("filter, transform and content_type round-trip through create, get, getAny, list and active", async () => {
      const w = await addEndpoint(f, ROUTING);
      expect(await f.s.webhooks.get(w.id)).toEqual(w);
      expect(await f.s.webhooks.getAny(w.id)).toEqual({ ...w, deleted: false });
      expect(await f.s.webhooks.list({ limit: 10 })).toEqual([w]);
      expect(await f.s.webhooks.active()).toEqual([{ id: w.id, events: ["*"], ordering: "none", ordering_key: null, filter: FILTER }]);
    });

    test("update keeps the routing options it is not given, sets the ones given and clears those given null", async () => {
      const w = await addEndpoint(f, ROUTING);
      f.clock.advance(SEC);
      const kept = await f.s.webhooks.update(w.id, { description: "only this", rate_limit: 5 }, f.clock.now());
      expect(kept).toEqual({ ...w, description: "only this", rate_limit: 5, updated_at: f.clock.now() });
      const other = `{"type":"a.b"}`;
      const changed = await f.s.webhooks.update(w.id, { filter: other, content_type: null }, f.clock.now());
      expect(changed).toEqual({ ...kept!, filter: other, content_type: null });
      expect(await f.s.webhooks.get(w.id)).toEqual(changed);
      expect((await f.s.webhooks.active())[0]?.filter).toBe(other);
      const cleared = await f.s.webhooks.update(w.id, { filter: null, transform: null }, f.clock.now());
      expect(cleared).toEqual({ ...kept!, filter: null, transform: null, content_type: null });
      expect(await f.s.webhooks.get(w.id)).toEqual(cleared);
      expect(await f.s.webhooks.active()).toEqual([{ id: w.id, events: ["*"], ordering: "none", ordering_key: null, filter: null }]);
    });
  });

  describe("event source", () => {
    test("an event's source is stored and read back by get and list; verdicts are not stored", async () => {
      const verdicts: FilterVerdicts = new Map([["wh_x", { filter: FILTER, matches: true }]]);
      const inbound = sourcedEvent(f, "psft-payroll", verdicts);
      const api = sourcedEvent(f, null);
      await f.s.events.insert(inbound);
      await f.s.tx((tx) => tx.events.insert(api));
      expect(await f.s.events.get(inbound.id)).toEqual(stored(inbound));
      expect(await f.s.events.get(api.id)).toEqual({ ...api, source: null });
      expect(await f.s.events.list({ limit: 10 })).toEqual([api, stored(inbound)].sort((a, b) => (a.id < b.id ? 1 : -1)));
    });

    test("inbound accept stores its event's source", async () => {
      const q = acceptRequest(f, { source: "crm" });
      expect(q.event.source).toBe("crm");
      expect((await f.s.inbound.accept(q)).kind).toBe("accepted");
      expect(await f.s.events.get(q.event.id)).toEqual(q.event);
    });
  });

  describe("claims for routing", () => {
    test("a claim carries the endpoint's transform and content_type and the event's source", async () => {
      const w = await addEndpoint(f, ROUTING);
      const plain = await addEndpoint(f);
      const e = sourcedEvent(f, "psft-payroll");
      await f.s.events.insert(e);
      const claimed = await claimNow(f);
      expect(claimed.find((d) => d.webhook_id === w.id)).toMatchObject({
        event_id: e.id, body: e.body, transform: TRANSFORM, content_type: "application/xml", source: "psft-payroll",
      });
      expect(claimed.find((d) => d.webhook_id === plain.id)).toMatchObject({
        event_id: e.id, body: e.body, transform: null, content_type: null, source: "psft-payroll",
      });
    });

    test("the source comes from the database when the event is not in memory (after a restart)", async () => {
      const w = await addEndpoint(f, { transform: TRANSFORM });
      const sourced = sourcedEvent(f, "psft-payroll");
      const api = sourcedEvent(f, null);
      await f.s.events.insert(sourced);
      await f.s.events.insert(api);
      await f.backend.reopen();
      const claimed = await claimNow(f);
      expect(claimed.map((d) => [d.event_id, d.body, d.source, d.transform]).sort()).toEqual(
        [[sourced.id, sourced.body, "psft-payroll", TRANSFORM], [api.id, api.body, null, TRANSFORM]].sort(),
      );
      expect(claimed.every((d) => d.webhook_id === w.id)).toBe(true);
    });
  });

  describe("route input", () => {
    test("route is handed the very event given, verdicts included, by every write that stores events", async () => {
      await addEndpoint(f, { filter: FILTER });
      const verdicts: FilterVerdicts = new Map([["wh_x", { filter: FILTER, matches: false }]]);
      const direct = sourcedEvent(f, "psft-payroll", verdicts);
      const inTx = sourcedEvent(f, null, verdicts);
      const q = acceptRequest(f, { source: "psft-payroll" });
      const accepted = { ...q, event: { ...q.event, verdicts } };
      const now = f.clock.now();
      const resource: ResourceRecord = { id: newId("res"), type: "t", name: "r", status: "active", metadata: {}, created_at: now, updated_at: now };
      const fromResource = sourcedEvent(f, null, verdicts);
      await f.s.events.insert(direct);
      await f.s.tx((tx) => tx.events.insert(inTx));
      await f.s.inbound.accept(accepted);
      await f.s.resources.create(resource, [fromResource]);
      for (const e of [direct, inTx, accepted.event, fromResource]) {
        const seen = f.backend.routed.find((r) => r.id === e.id);
        expect(seen).toBe(e);
        expect(seen?.verdicts).toBe(verdicts);
      }
    });
  });
}
