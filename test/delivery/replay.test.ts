import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { waitFor } from "../support/process";
import { type Receiver, sequence, startReceiver } from "../support/receiver";
import { startTestServer, type TestServer } from "../support/test-server";

let server: TestServer;
let receiver: Receiver;
beforeAll(async () => {
  receiver = startReceiver();
  server = await startTestServer({ delivery: 'require_https = false\nallow_targets = ["127.0.0.0/8"]\nretry_schedule = []\nmax_endpoints = 20' });
});
afterAll(async () => {
  await server.stop();
  await receiver.stop();
});

const hits = (path: string) => receiver.requests.filter((r) => r.path === path);

async function settled(id: string, status: string) {
  let d: any;
  await waitFor(async () => {
    d = (await server.api("GET", `/v1/deliveries/${id}`)).body.data;
    return d.status === status && !d.in_flight;
  }, 5000, `delivery ${status}`);
  return d;
}

describe("POST /v1/events fan-out", () => {
  test("answers with the number of deliveries: one per active endpoint whose filters match", async () => {
    const mk = (path: string, events: string[]) => server.api("POST", "/v1/webhooks", { url: `${receiver.url}${path}`, events });
    const a = (await mk("/fan-a", ["fan.*"])).body.data;
    const b = (await mk("/fan-b", ["fan.out"])).body.data;
    const c = (await mk("/fan-c", ["other.thing"])).body.data;
    const off = (await mk("/fan-d", ["*"])).body.data;
    await server.api("PATCH", `/v1/webhooks/${off.id}`, { status: "disabled" });
    const answer = await server.api("POST", "/v1/events", { type: "fan.out", data: {} });
    expect(answer.body.data.deliveries).toBe(2);
    // Only stored deliveries are ever sent: the event's are for fan-a and fan-b alone, so once those two
    // are finished nothing more can go out for it (no waiting to see whether something else arrives).
    const event = await server.api("GET", `/v1/events/${answer.body.data.id}`);
    const made: { id: string; webhook_id: string }[] = event.body.data.deliveries;
    expect(made.map((d) => d.webhook_id).sort()).toEqual([a.id, b.id].sort());
    for (const d of made) await settled(d.id, "delivered");
    expect(hits("/fan-a")).toHaveLength(1);
    expect(hits("/fan-b")).toHaveLength(1);
    expect(hits("/fan-c")).toHaveLength(0);
    expect(hits("/fan-d")).toHaveLength(0);
    for (const w of [c, off]) expect((await server.api("GET", `/v1/webhooks/${w.id}/deliveries`)).body.data).toEqual([]);
  });
});

describe("retry, recover, test", () => {
  test("retry sends a delivered delivery again with the same webhook-id; a pending one is 409", async () => {
    const w = (await server.api("POST", "/v1/webhooks", { url: `${receiver.url}/retry`, events: ["retry.me"] })).body.data;
    await server.api("POST", "/v1/events", { type: "retry.me", data: {} });
    await waitFor(() => hits("/retry").length === 1, 5000, "first delivery");
    const id = (await server.api("GET", `/v1/webhooks/${w.id}/deliveries`)).body.data[0].id;
    await settled(id, "delivered");
    const again = await server.api("POST", `/v1/deliveries/${id}/retry`);
    expect(again.status).toBe(202);
    await waitFor(() => hits("/retry").length === 2, 5000, "second delivery");
    const [first, second] = hits("/retry");
    expect(second!.headers["webhook-id"]).toBe(first!.headers["webhook-id"]);
    expect(second!.body).toBe(first!.body);
    const d = await settled(id, "delivered");
    expect(d.attempts).toBe(2);
    expect(d.attempt_history).toHaveLength(2);
    expect((await server.api("POST", "/v1/deliveries/dlv_00000000000000000000000000/retry")).status).toBe(404);
  });

  test("recover re-enqueues expired deliveries created since a time → 202 {recovered: N}", async () => {
    receiver.setHandler(sequence(500, 500, 500, 200));
    try {
      const w = (await server.api("POST", "/v1/webhooks", { url: `${receiver.url}/recover`, events: ["recover.me"] })).body.data;
      const since = new Date(Date.now() - 1000).toISOString();
      for (let i = 0; i < 3; i++) await server.api("POST", "/v1/events", { type: "recover.me", data: { i } });
      await waitFor(async () => {
        const list = (await server.api("GET", `/v1/webhooks/${w.id}/deliveries?status=expired`)).body.data;
        return list.length === 3;
      }, 5000, "three expired");
      receiver.setHandler(() => new Response("ok"));
      const answer = await server.api("POST", `/v1/webhooks/${w.id}/recover`, { since });
      expect(answer.status).toBe(202);
      expect(answer.body).toEqual({ data: { recovered: 3 } });
      await waitFor(async () => {
        const list = (await server.api("GET", `/v1/webhooks/${w.id}/deliveries?status=delivered`)).body.data;
        return list.length === 3;
      }, 5000, "three delivered");
      const none = await server.api("POST", `/v1/webhooks/${w.id}/recover`, { since });
      expect(none.body.data.recovered).toBe(0);
      const bad = await server.api("POST", `/v1/webhooks/${w.id}/recover`, { since: "last tuesday" });
      expect(bad.status).toBe(422);
      expect(bad.body.error.details[0].field).toBe("since");
    } finally {
      receiver.setHandler(() => new Response("ok"));
    }
  });

  test("test sends a webhook.test event to that endpoint only", async () => {
    const a = (await server.api("POST", "/v1/webhooks", { url: `${receiver.url}/test-a`, events: ["*"] })).body.data;
    const b = (await server.api("POST", "/v1/webhooks", { url: `${receiver.url}/test-b`, events: ["*"] })).body.data;
    const answer = await server.api("POST", `/v1/webhooks/${a.id}/test`);
    expect(answer.status).toBe(202);
    expect(answer.body.data.event_id).toMatch(/^evt_/);
    // The test event has one delivery, to `a`; once it is finished nothing more can be sent for it.
    const made = (await server.api("GET", `/v1/events/${answer.body.data.event_id}`)).body.data.deliveries;
    expect(made.map((d: { webhook_id: string }) => d.webhook_id)).toEqual([a.id]);
    await settled(made[0].id, "delivered");
    expect(hits("/test-a")).toHaveLength(1);
    const got = hits("/test-a")[0]!;
    expect(got.headers["x-hookd-event"]).toBe("webhook.test");
    expect(JSON.parse(got.body).data.webhook_id).toBe(a.id);
    expect(hits("/test-b")).toHaveLength(0);
    expect((await server.api("GET", `/v1/webhooks/${b.id}/deliveries`)).body.data).toEqual([]);
  });

  test("status filter on history is validated", async () => {
    const w = (await server.api("POST", "/v1/webhooks", { url: `${receiver.url}/filter`, events: ["x.y"] })).body.data;
    const bad = await server.api("GET", `/v1/webhooks/${w.id}/deliveries?status=done`);
    expect(bad.status).toBe(400);
    expect(bad.body.error.details[0].field).toBe("query.status");
  });
});
