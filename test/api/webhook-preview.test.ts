import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { waitFor } from "../support/process";
import { type Receiver, startReceiver } from "../support/receiver";
import { startTestServer, type TestServer } from "../support/test-server";

// POST /v1/webhooks/:id/preview (SPEC §10) through the real API: the verdict and the exact body, for stored and ad-hoc events.
let server: TestServer;
let receiver: Receiver;
beforeAll(async () => {
  receiver = startReceiver();
  server = await startTestServer({ delivery: 'require_https = false\nallow_targets = ["127.0.0.0/8"]\nretry_schedule = []\nmax_endpoints = 100' });
});
afterAll(async () => {
  await server.stop();
  await receiver.stop();
});

const endpoint = async (body: Record<string, unknown> = {}, events = ["erp.*"]) => {
  // Disabled so that publishing an event to test against delivers nothing: the preview ignores status.
  const created = await server.api("POST", "/v1/webhooks", { url: "https://erp.example/hook", events, ...body });
  expect(created.status).toBe(201);
  await server.api("PATCH", `/v1/webhooks/${created.body.data.id}`, { status: "disabled" });
  return created.body.data.id as string;
};
const preview = (id: string, body: unknown) => server.api("POST", `/v1/webhooks/${id}/preview`, body);
const adHoc = (type: string, data: unknown, source?: string) => ({ event: { type, data, ...(source === undefined ? {} : { source }) } });

describe("preview without filter or transform", () => {
  test("a stored event: matches, and the body is its envelope byte for byte", async () => {
    const id = await endpoint();
    const raw = '{"type":"erp.order.created","data":{"n":12345678901234567890,"b":"ü"}}';
    const published = await server.api("POST", "/v1/events", raw);
    expect(published.status).toBe(202);
    const answer = await preview(id, { event_id: published.body.data.id });
    expect(answer.status).toBe(200);
    expect(answer.body.data).toEqual({ matches: true, content_type: "application/json", body: expect.any(String), error: null });
    const stored = (await server.api("GET", `/v1/events/${published.body.data.id}`)).body.data;
    expect(answer.body.data.body).toBe(`{"id":"${stored.id}","type":"erp.order.created","created_at":"${stored.created_at}","data":{"n":12345678901234567890,"b":"ü"}}`);
  });

  test("an ad-hoc event keeps its data's bytes; a type outside `events` does not match", async () => {
    const id = await endpoint();
    const answer = await preview(id, '{"event":{"type":"erp.order.created","data":{"n":12345678901234567890}}}');
    expect(answer.status).toBe(200);
    expect(answer.body.data.matches).toBe(true);
    expect(answer.body.data.body).toMatch(/^\{"id":"evt_[^"]+","type":"erp.order.created","created_at":"[^"]+","data":\{"n":12345678901234567890\}\}$/);
    expect((await preview(id, adHoc("hr.person.hired", {}))).body.data.matches).toBe(false);
  });

  test("sends nothing and stores nothing", async () => {
    const id = await endpoint({}, ["*"]);
    await server.api("PATCH", `/v1/webhooks/${id}`, { status: "active", url: `${receiver.url}/nothing` });
    const before = (await server.api("GET", "/v1/events?limit=500")).body.data.length;
    expect((await preview(id, adHoc("erp.order.created", { a: 1 }))).body.data.matches).toBe(true);
    expect((await server.api("GET", "/v1/events?limit=500")).body.data.length).toBe(before);
    expect((await server.api("GET", `/v1/webhooks/${id}/deliveries`)).body.data).toEqual([]);
    await Bun.sleep(100);
    expect(receiver.requests.filter((r) => r.path === "/nothing")).toHaveLength(0);
    await server.api("DELETE", `/v1/webhooks/${id}`);
  });
});

describe("preview with a filter", () => {
  const FILTER = { source: "psft-payroll", "data.severity": { $in: ["error", "critical"] } };

  test.each([
    ["matching source and severity: matches", { severity: "critical" }, "psft-payroll", true],
    ["another severity: no match", { severity: "info" }, "psft-payroll", false],
    ["no source (an API event): no match", { severity: "error" }, undefined, false],
    ["another source: no match", { severity: "error" }, "psft-hr", false],
  ])("%s", async (_name, data, source, matches) => {
    const id = await endpoint({ filter: FILTER });
    const answer = await preview(id, adHoc("erp.payroll.failed", data, source));
    expect(answer.status).toBe(200);
    expect(answer.body.data.matches).toBe(matches);
    // The body is shown whatever the verdict.
    expect(JSON.parse(answer.body.data.body).data).toEqual(data);
  });

  test("a stored event's data is what the filter sees", async () => {
    const id = await endpoint({ filter: { "data.total": { $gte: 100 } } });
    const big = (await server.api("POST", "/v1/events", { type: "erp.order.created", data: { total: 250 } })).body.data.id;
    const small = (await server.api("POST", "/v1/events", { type: "erp.order.created", data: { total: 5 } })).body.data.id;
    expect((await preview(id, { event_id: big })).body.data.matches).toBe(true);
    expect((await preview(id, { event_id: small })).body.data.matches).toBe(false);
  });
});

describe("preview with a transform", () => {
  test("an object result is JSON", async () => {
    const id = await endpoint({ transform: '{"text": "Payroll batch " & data.batch & " failed: " & data.message, "src": source}' });
    const answer = await preview(id, adHoc("erp.payroll.failed", { batch: "B-7", message: "disk full" }, "psft-payroll"));
    expect(answer.body.data).toEqual({ matches: true, content_type: "application/json", body: expect.any(String), error: null });
    expect(JSON.parse(answer.body.data.body)).toEqual({ text: "Payroll batch B-7 failed: disk full", src: "psft-payroll" });
  });

  test("a string result is sent as is with the endpoint's content_type, or text/plain", async () => {
    const xml = '"<order id=\\"" & data.id & "\\"/>"';
    const withType = await endpoint({ transform: xml, content_type: "application/xml; charset=utf-8" });
    expect((await preview(withType, adHoc("erp.order.created", { id: "A1" }))).body.data).toEqual({
      matches: true, content_type: "application/xml; charset=utf-8", body: '<order id="A1"/>', error: null,
    });
    const plain = await endpoint({ transform: xml });
    expect((await preview(plain, adHoc("erp.order.created", { id: "A1" }))).body.data.content_type).toBe("text/plain; charset=utf-8");
  });

  test("a transform that throws or returns nothing answers 200 with transform_failed and no body", async () => {
    const throws = await endpoint({ transform: '$error("no batch")' });
    const failed = await preview(throws, adHoc("erp.order.created", {}));
    expect(failed.status).toBe(200);
    expect(failed.body.data).toMatchObject({ matches: true, content_type: null, body: null });
    expect(failed.body.data.error).toStartWith("transform_failed: ");
    expect(failed.body.data.error).toContain("no batch");
    const nothing = await endpoint({ transform: "data.missing" });
    expect((await preview(nothing, adHoc("erp.order.created", {}))).body.data.error).toStartWith("transform_failed: ");
  });

  test("a filter and a transform together", async () => {
    const id = await endpoint({ filter: { "data.severity": "error" }, transform: "data.message" });
    expect((await preview(id, adHoc("erp.job.failed", { severity: "error", message: "m" }))).body.data).toMatchObject({ matches: true, body: "m" });
    expect((await preview(id, adHoc("erp.job.failed", { severity: "info", message: "m" }))).body.data).toMatchObject({ matches: false, body: "m" });
  });
});

describe("preview and delivery agree", () => {
  test.each([
    ["the envelope", {}],
    ["a JSON transform", { transform: '{"text": data.message, "n": data.n, "from": source}' }],
    ["a string transform", { transform: `'<alert n="' & $string(data.n) & '">' & data.message & '</alert>'`, content_type: "application/xml" }],
  ])("%s: the preview's body and content type are the bytes the receiver then gets", async (_name, routing) => {
    const path = `/agree-${crypto.randomUUID()}`;
    const created = await server.api("POST", "/v1/webhooks", { url: `${receiver.url}${path}`, events: ["agree.*"], ...routing });
    expect(created.status, created.text).toBe(201);
    const id = created.body.data.id;
    const published = await server.api("POST", "/v1/events", '{"type":"agree.case","data":{"message":"disk \u00fc full","n":12345678901234567890}}');
    await waitFor(() => receiver.requests.some((r) => r.path === path), 5000, "the delivery");
    const got = receiver.requests.find((r) => r.path === path)!;
    const shown = (await preview(id, { event_id: published.body.data.id })).body.data;
    expect(shown.matches).toBe(true);
    expect(shown.body).toBe(got.body);
    expect(shown.content_type).toBe(got.headers["content-type"]);
    await server.api("DELETE", `/v1/webhooks/${id}`);
  });
});

describe("preview errors", () => {
  test("unknown endpoint or event: 404", async () => {
    const id = await endpoint();
    expect((await preview("wh_nope", adHoc("erp.a", {}))).status).toBe(404);
    expect((await preview(id, { event_id: "evt_0000000000000000000000000" })).status).toBe(404);
    expect((await preview(id, { event_id: "nope" })).status).toBe(404);
  });

  test.each([
    ["neither event_id nor event", {}, "body"],
    ["both", { event_id: "evt_x", event: { type: "erp.a", data: {} } }, "body"],
    ["a bad type", { event: { type: "no", data: {} } }, "event.type"],
    ["data not an object", { event: { type: "erp.a", data: [1] } }, "event.data"],
    ["an unknown field", { event: { type: "erp.a", data: {}, extra: 1 } }, "event.extra"],
    ["event_id not a string", { event_id: 5 }, "event_id"],
  ])("%s → 422 naming the field", async (_name, body, field) => {
    const answer = await preview(await endpoint(), body);
    expect(answer.status).toBe(422);
    expect(answer.body.error.code).toBe("invalid_request");
    expect(answer.body.error.details.map((d: { field: string }) => d.field)).toContain(field);
  });
});
