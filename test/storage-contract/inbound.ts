import { describe, expect, test } from "bun:test";
import { buildEvent } from "../../src/events/envelope";
import { newId } from "../../src/ids";
import type { AcceptRequest, InboundRecord } from "../../src/storage/types";
import { DAY, MIN, SEC, addWebhook, type Fixture } from "./harness";

/** inboundRecord is one request received now at `source`. */
export function inboundRecord(f: Fixture, over: Partial<InboundRecord> = {}): InboundRecord {
  const body = over.body ?? `{"n":1}`;
  return {
    id: newId("in"), source: "erp", status: "accepted", reason: null, event_id: null, client_ip: "203.0.113.7",
    headers: { "content-type": "application/json" }, body, body_sha256: `sha-${body}`, size: body.length, received_at: f.clock.now(),
    ...over,
  };
}

interface Sent {
  key?: string | null;
  body?: string;
  source?: string;
  limit?: { count: number; windowMs: number } | null;
}

/** acceptRequest is what the receiver commits for one request with dedupe key `key` and this body. */
export function acceptRequest(f: Fixture, { key = "k1", body = `{"n":1}`, source = "erp", limit = null }: Sent = {}): AcceptRequest {
  const now = f.clock.now();
  const event = buildEvent("inbound.received", body, "inbound", now, source);
  return {
    record: inboundRecord(f, { source, body, event_id: event.id }), event, dedupeKey: key, bodyHash: `sha-${body}`,
    dedupeWindowMs: DAY, rateLimit: limit, now,
  };
}

/** inboundContract: the durable accept path (dedupe, rate limit, insert) and the inbound log. */
export function inboundContract(f: Fixture): void {
  const send = (sent: Sent = {}) => f.s.inbound.accept(acceptRequest(f, sent));

  describe("inbound.accept", () => {
    test("stores the record, its event and the event's deliveries together", async () => {
      await addWebhook(f);
      const q = acceptRequest(f);
      expect(await f.s.inbound.accept(q)).toEqual({ kind: "accepted", eventId: q.event.id, deliveries: 1 });
      expect(await f.s.inbound.get(q.record.id)).toEqual(q.record);
      expect(await f.s.events.get(q.event.id)).toEqual(q.event);
      expect(await f.s.deliveries.listForEvent(q.event.id)).toHaveLength(1);
    });

    test.each([
      ["same key and body within the window: a duplicate of the first", { key: "k1" }, 0, "duplicate"],
      ["same key, another body: a reused key", { key: "k1", body: `{"n":2}` }, 0, "reused"],
      ["same key and body late in the window: a duplicate", { key: "k1" }, DAY - SEC, "duplicate"],
      ["same key after the window: accepted", { key: "k1" }, DAY + SEC, "accepted"],
      ["same key at another source: accepted", { key: "k1", source: "crm" }, 0, "accepted"],
      ["another key: accepted", { key: "k2" }, 0, "accepted"],
      ["no key: accepted", { key: null }, 0, "accepted"],
    ] as const)("dedupe, %s", async (_name, second, later, kind) => {
      const first = acceptRequest(f, { key: second.key === null ? null : "k1" });
      await f.s.inbound.accept(first);
      f.clock.advance(later);
      const q = acceptRequest(f, second);
      const out = await f.s.inbound.accept(q);
      expect(out.kind).toBe(kind);
      expect(await f.s.events.get(q.event.id)).toEqual(kind === "accepted" ? q.event : null);
      if (kind === "duplicate") {
        expect(out).toEqual({ kind: "duplicate", eventId: first.event.id });
        // Logged as a duplicate pointing at the original event.
        expect(await f.s.inbound.get(q.record.id)).toMatchObject({ status: "duplicate", event_id: first.event.id });
      }
      if (kind === "reused") expect(await f.s.inbound.get(q.record.id)).toBeNull();
    });

    test("concurrent repeats of one request store it once", async () => {
      const outs = await Promise.all(Array.from({ length: 10 }, () => send()));
      expect(outs.filter((o) => o.kind === "accepted")).toHaveLength(1);
      expect(outs.filter((o) => o.kind === "duplicate")).toHaveLength(9);
      expect(await f.s.events.list({ limit: 20 })).toHaveLength(1);
    });
  });

  describe("inbound rate limit", () => {
    const limit = { count: 2, windowMs: MIN };
    // Windows are aligned to the epoch: start each test 15 s into one.
    const toWindowStart = () => f.clock.advance(MIN - (f.clock.now() % MIN) + 15 * SEC);

    test("counts accepted requests per window and answers rate_limited with the seconds left", async () => {
      toWindowStart();
      expect((await send({ key: "a", limit })).kind).toBe("accepted");
      expect((await send({ key: "b", limit })).kind).toBe("accepted");
      const q = acceptRequest(f, { key: "c", limit });
      expect(await f.s.inbound.accept(q)).toEqual({ kind: "rate_limited", retryAfterSec: 45 });
      expect(await f.s.events.get(q.event.id)).toBeNull();
      f.clock.advance(44 * SEC + 500);
      expect(await send({ key: "d", limit })).toEqual({ kind: "rate_limited", retryAfterSec: 1 });
      f.clock.advance(500);
      expect((await send({ key: "e", limit })).kind).toBe("accepted");
    });

    test("a duplicate is answered over the limit, and neither duplicates nor reused keys are counted", async () => {
      toWindowStart();
      expect((await send({ key: "a", limit })).kind).toBe("accepted");
      expect((await send({ key: "a", limit })).kind).toBe("duplicate");
      expect((await send({ key: "a", body: "{}", limit })).kind).toBe("reused");
      expect((await send({ key: "b", limit })).kind).toBe("accepted");
      expect((await send({ key: "a", limit })).kind).toBe("duplicate");
      expect((await send({ key: "c", limit })).kind).toBe("rate_limited");
    });

    test("counts are per source", async () => {
      toWindowStart();
      await send({ key: "a", limit });
      await send({ key: "b", limit });
      expect((await send({ key: "c", limit })).kind).toBe("rate_limited");
      expect((await send({ key: "c", limit, source: "crm" })).kind).toBe("accepted");
    });

    test("counts survive a restart", async () => {
      toWindowStart();
      await send({ key: "a", limit });
      await send({ key: "b", limit });
      await f.backend.reopen();
      expect((await send({ key: "c", limit })).kind).toBe("rate_limited");
    });

    test("concurrent requests never take more than the limit", async () => {
      toWindowStart();
      const outs = await Promise.all(Array.from({ length: 10 }, (_, i) => send({ key: `k${i}`, limit })));
      expect(outs.filter((o) => o.kind === "accepted")).toHaveLength(2);
    });
  });

  describe("inbound log", () => {
    test("logRejected stores a rejection that get and list then show", async () => {
      const r = inboundRecord(f, { status: "rejected", reason: "invalid_signature", body: null, body_sha256: "abc", size: 12 });
      await f.s.inbound.logRejected(r);
      expect(await f.s.inbound.get(r.id)).toEqual(r);
      expect(await f.s.inbound.list({ limit: 10 })).toEqual([r]);
      expect(await f.s.events.list({ limit: 10 })).toEqual([]);
    });

    test("an accepted request is listed, and get shows its body as received", async () => {
      const q = acceptRequest(f, { body: `{ "spaced" : true }` });
      await f.s.inbound.accept(q);
      const { body: _, ...listed } = q.record;
      expect((await f.s.inbound.list({ limit: 10 })).map(({ body: _b, ...rest }) => rest)).toEqual([listed]);
      expect((await f.s.inbound.get(q.record.id))?.body).toBe(`{ "spaced" : true }`);
    });
  });
}
