import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type Receiver, startReceiver } from "../support/receiver";
import { call, startTestServer, type TestServer } from "../support/test-server";

// SPEC §10 through the real server: events fan out only to endpoints whose filter matches, inbound
// events carry their source into the filter, and a filter change applies from the next event on.
let server: TestServer;
let receiver: Receiver;
beforeAll(async () => {
  receiver = startReceiver();
  server = await startTestServer({
    delivery: 'require_https = false\nallow_targets = ["127.0.0.0/8"]\nretry_schedule = []\nmax_endpoints = 100',
    "[[sources]] # payroll": 'id = "psft-payroll"\nauth = "token"\nsecret = "tok-payroll-1"',
    "[[sources]] # monitor": 'id = "monitor"\nauth = "token"\nsecret = "tok-monitor-1"',
  });
});
afterAll(async () => {
  await server.stop();
  await receiver.stop();
});

const endpoint = async (filter: unknown, events = ["*"]) => {
  const created = await server.api("POST", "/v1/webhooks", { url: receiver.url, events, filter });
  expect(created.status).toBe(201);
  return created.body.data.id as string;
};
/** deliveredTo lists the endpoints an event got a delivery for, among `ids`. */
const deliveredTo = async (eventId: string, ids: string[]) => {
  const event = await server.api("GET", `/v1/events/${eventId}`);
  expect(event.status).toBe(200);
  return ids.filter((id) => event.body.data.deliveries.some((d: { webhook_id: string }) => d.webhook_id === id));
};
const publish = async (type: string, data: unknown) => {
  const answer = await server.api("POST", "/v1/events", { type, data });
  expect(answer.status).toBe(202);
  return answer.body.data.id as string;
};
const receive = async (source: string, token: string, body: Record<string, unknown>) => {
  const erp = { connector_id: source, event_type: "integration.failed", timestamp: "2026-04-20T03:00:00Z", ...body };
  const answer = await call(`${server.url}/in/${source}`, "POST", JSON.stringify(erp), { "x-auth-token": token });
  expect(answer.status).toBe(200);
  return answer.body.id as string;
};

describe("fan-out with filters", () => {
  test("each event reaches exactly the endpoints whose filter matches", async () => {
    const e = {
      plain: await endpoint(null),
      onCall: await endpoint({ source: "psft-payroll", "data.severity": { $in: ["error", "critical"] } }),
      eu: await endpoint({ "data.site.region": "eu" }),
      exitCodes: await endpoint({ "data.message": { $regex: "^exit code [1-9]", $options: "i" } }),
      ticketed: await endpoint({ "data.ticket": { $exists: true } }),
      either: await endpoint({ $or: [{ type: "order.cancelled" }, { "data.total": { $gt: 1000 } }] }),
      both: await endpoint({ $and: [{ source: null }, { "data.site.region": { $ne: "eu" } }] }),
    };
    const all = Object.values(e);
    const payrollError = await receive("psft-payroll", "tok-payroll-1", { severity: "error", message: "Exit code 1 at record 18441" });
    expect(await deliveredTo(payrollError, all)).toEqual([e.plain, e.onCall, e.exitCodes]);
    const payrollInfo = await receive("psft-payroll", "tok-payroll-1", { severity: "info", message: "done" });
    expect(await deliveredTo(payrollInfo, all)).toEqual([e.plain]);
    const monitorError = await receive("monitor", "tok-monitor-1", { severity: "critical", message: "exit code 2" });
    expect(await deliveredTo(monitorError, all)).toEqual([e.plain, e.exitCodes]);
    const euOrder = await publish("order.created", { site: { region: "eu" }, total: 5000, ticket: null });
    expect(await deliveredTo(euOrder, all)).toEqual([e.plain, e.eu, e.ticketed, e.either]);
    const usCancel = await publish("order.cancelled", { site: { region: "us" } });
    expect(await deliveredTo(usCancel, all)).toEqual([e.plain, e.either, e.both]);
    for (const id of all) await server.api("DELETE", `/v1/webhooks/${id}`);
  });

  test("a filter change applies to the next event, not to deliveries already created", async () => {
    const id = await endpoint({ "data.severity": "error" }, ["alarm.*"]);
    const first = await publish("alarm.raised", { severity: "error" });
    expect(await deliveredTo(first, [id])).toEqual([id]);
    const patched = await server.api("PATCH", `/v1/webhooks/${id}`, { filter: { "data.severity": "critical" } });
    expect(patched.status).toBe(200);
    expect(patched.body.data.filter).toEqual({ "data.severity": "critical" });
    const second = await publish("alarm.raised", { severity: "error" });
    expect(await deliveredTo(second, [id])).toEqual([]);
    const third = await publish("alarm.raised", { severity: "critical" });
    expect(await deliveredTo(third, [id])).toEqual([id]);
    // The first event keeps its delivery.
    expect(await deliveredTo(first, [id])).toEqual([id]);
    // Removing the filter lets every event of the type through again.
    await server.api("PATCH", `/v1/webhooks/${id}`, { filter: null });
    expect(await deliveredTo(await publish("alarm.raised", { severity: "info" }), [id])).toEqual([id]);
    await server.api("DELETE", `/v1/webhooks/${id}`);
  });

  test("resource events, built inside their transaction, are filtered too", async () => {
    const id = await endpoint({ "data.object.name": { $regex: "^prod-" } }, ["resource.*"]);
    const prod = await server.api("POST", "/v1/resources", { name: "prod-db" });
    const dev = await server.api("POST", "/v1/resources", { name: "dev-db" });
    expect(prod.status).toBe(201);
    const events = (await server.api("GET", "/v1/events?type=resource.created")).body.data as { id: string; data: { object: { name: string } } }[];
    const eventOf = (name: string) => events.find((ev) => ev.data.object.name === name)?.id as string;
    expect(await deliveredTo(eventOf("prod-db"), [id])).toEqual([id]);
    expect(await deliveredTo(eventOf("dev-db"), [id])).toEqual([]);
    expect(dev.status).toBe(201);
    await server.api("DELETE", `/v1/webhooks/${id}`);
  });

  test("webhook.test reaches the endpoint whatever its filter", async () => {
    const id = await endpoint({ "data.never": "there" });
    const answer = await server.api("POST", `/v1/webhooks/${id}/test`);
    expect(answer.status).toBeLessThan(300);
    const deliveries = await server.api("GET", `/v1/webhooks/${id}/deliveries`);
    expect(deliveries.body.data).toHaveLength(1);
    await server.api("DELETE", `/v1/webhooks/${id}`);
  });

  test("a catastrophic $regex costs the request microseconds, not seconds", async () => {
    const id = await endpoint({ "data.s": { $regex: "^(a+)+$" } });
    const started = performance.now();
    const eventId = await publish("text.checked", { s: `${"a".repeat(30)}b` });
    expect(performance.now() - started).toBeLessThan(200);
    expect(await deliveredTo(eventId, [id])).toEqual([]);
    await server.api("DELETE", `/v1/webhooks/${id}`);
  });

  test.each([
    ["$where", { $where: "this.data.x == 1" }],
    ["$where nested in $and", { $and: [{ source: "x" }, { $where: "1" }] }],
    ["an unknown operator", { "data.x": { $near: 1 } }],
    ["a pattern RE2 cannot compile", { "data.x": { $regex: "(a)\\1" } }],
  ])("%s is 422 naming filter", async (_name, filter) => {
    const answer = await server.api("POST", "/v1/webhooks", { url: receiver.url, events: ["*"], filter });
    expect(answer.status).toBe(422);
    expect(answer.body.error.details).toContainEqual(expect.objectContaining({ field: "filter" }));
  });
});
