import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startTestServer, type TestServer } from "../support/test-server";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.stop());

describe("POST /v1/events", () => {
  test("stores the event and answers 202 with its id and delivery count", async () => {
    const answer = await server.api("POST", "/v1/events", { type: "invoice.paid", data: { invoice: "INV-1", amount: 12.5 } });
    expect(answer.status).toBe(202);
    expect(answer.body.data.id).toMatch(/^evt_[0-9a-z]{26}$/);
    expect(answer.body.data.deliveries).toBe(0);
    const one = await server.api("GET", `/v1/events/${answer.body.data.id}`);
    expect(one.status).toBe(200);
    expect(one.body.data).toMatchObject({ id: answer.body.data.id, type: "invoice.paid", data: { invoice: "INV-1", amount: 12.5 }, deliveries: [] });
    expect(one.body.data.created_at).toMatch(/Z$/);
  });

  test("data is kept as sent: large integers, key order and spacing survive", async () => {
    const raw = '{"type":"ledger.posted","data":{"z":1,"big":12345678901234567890123,"a":[1.10, 2e3],"s":"\\u00e9"}}';
    const answer = await server.api("POST", "/v1/events", raw);
    expect(answer.status).toBe(202);
    const one = await server.api("GET", `/v1/events/${answer.body.data.id}`);
    expect(one.text).toContain('"data":{"z":1,"big":12345678901234567890123,"a":[1.10, 2e3],"s":"\\u00e9"}');
  });

  test.each([
    [{ type: "invoice", data: {} }, "type", "invalid_event_type"],
    [{ type: "a.b\r\nX: y", data: {} }, "type", "invalid_event_type"],
    [{ type: "a.b", data: [1] }, "data", "invalid"],
    [{ type: "a.b" }, "data", "required"],
    [{ data: {} }, "type", "required"],
    [[{ type: "a.b", data: {} }], "body", "invalid"],
    [{ type: "a.b", data: {}, extra: 1 }, "extra", "invalid"],
  ])("%j is 422 naming %s", async (body, field, code) => {
    const answer = await server.api("POST", "/v1/events", body);
    expect(answer.status).toBe(422);
    expect(answer.body.error.details).toContainEqual(expect.objectContaining({ field, code }));
  });
});

describe("GET /v1/events", () => {
  test("filters by type and since, newest first", async () => {
    const s = await startTestServer();
    try {
      const a = (await s.api("POST", "/v1/events", { type: "job.started", data: {} })).body.data.id;
      const b = (await s.api("POST", "/v1/events", { type: "job.completed", data: {} })).body.data.id;
      const c = (await s.api("POST", "/v1/events", { type: "job.started", data: { n: 2 } })).body.data.id;
      const all = await s.api("GET", "/v1/events");
      expect(all.body.data.map((e: { id: string }) => e.id)).toEqual([c, b, a]);
      expect(all.body.next_cursor).toBeNull();
      const started = await s.api("GET", "/v1/events?type=job.started");
      expect(started.body.data.map((e: { id: string }) => e.id)).toEqual([c, a]);
      const future = await s.api("GET", `/v1/events?since=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`);
      expect(future.body.data).toEqual([]);
      const past = await s.api("GET", "/v1/events?since=2000-01-01T00:00:00Z&limit=2");
      expect(past.body.data).toHaveLength(2);
      expect(past.body.next_cursor).not.toBeNull();
      const bad = await s.api("GET", "/v1/events?since=yesterday");
      expect(bad.status).toBe(400);
      expect(bad.body.error.details[0].field).toBe("query.since");
    } finally {
      await s.stop();
    }
  });

  test("an unknown event id is 404", async () => {
    expect((await server.api("GET", "/v1/events/evt_00000000000000000000000000")).status).toBe(404);
  });
});

describe("GET /v1/event-types", () => {
  test("free-form: the built-in types plus the types seen", async () => {
    await server.api("POST", "/v1/events", { type: "device.online", data: {} });
    const answer = await server.api("GET", "/v1/event-types");
    expect(answer.status).toBe(200);
    expect(answer.body.free_form).toBe(true);
    const names = answer.body.data.map((t: { name: string }) => t.name);
    expect(names).toContain("device.online");
    expect(names).toContain("resource.created");
    expect(names).toContain("webhook.test");
  });

  test("with a catalogue: its types, and publishing outside it is refused", async () => {
    const s = await startTestServer({ events: 'types = ["invoice.paid"]' });
    try {
      const types = await s.api("GET", "/v1/event-types");
      expect(types.body.free_form).toBe(false);
      expect(types.body.data).toContainEqual({ name: "invoice.paid", origin: "catalogue" });
      expect((await s.api("POST", "/v1/events", { type: "invoice.paid", data: {} })).status).toBe(202);
      const refused = await s.api("POST", "/v1/events", { type: "invoice.voided", data: {} });
      expect(refused.status).toBe(422);
      expect(refused.body.error.details[0].code).toBe("unknown_event_type");
    } finally {
      await s.stop();
    }
  });
});
