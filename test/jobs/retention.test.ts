import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { retentionCutoffs, runRetention } from "../../src/jobs/retention";
import { loadConfig } from "../../src/config/load";
import { silentLogger } from "../../src/log";
import { FakeClock } from "../support/fake-clock";
import { waitFor } from "../support/process";
import { type Receiver, startReceiver } from "../support/receiver";
import { call, startTestServer, type TestServer } from "../support/test-server";

const DAY = 24 * 60 * 60 * 1000;
let clock: FakeClock;
let server: TestServer;
let receiver: Receiver;

beforeAll(async () => {
  clock = new FakeClock();
  receiver = startReceiver();
  server = await startTestServer(
    {
      delivery: 'require_https = false\nallow_targets = ["127.0.0.0/8"]\nretry_schedule = ["30d"]',
      retention: 'deliveries = "1d"\nevents = "1d"\ninbound = "1d"',
      "[[sources]]": 'id = "erp"\nauth = "token"\nsecret = "erp-token-1"\nschema = "json"\nevent_type = "erp.thing"',
    },
    { clock },
  );
});
afterAll(async () => {
  await server.stop();
  await receiver.stop();
});

const inbound = (n: number) => call(`${server.url}/in/erp`, "POST", JSON.stringify({ n }), { "x-auth-token": "erp-token-1" });
const status = async (path: string) => (await server.api("GET", path)).status;

describe("retention", () => {
  test("removes old finished rows in batches, keeps recent ones and anything still owed a delivery, while ingest goes on", async () => {
    const ok = (await server.api("POST", "/v1/webhooks", { url: `${receiver.url}/ok`, events: ["old.*", "new.*"] })).body.data;
    const old = (await server.api("POST", "/v1/events", { type: "old.done", data: {} })).body.data.id;
    const oldInbound = await inbound(1);
    await waitFor(async () => (await server.api("GET", `/v1/webhooks/${ok.id}/deliveries?status=delivered`)).body.data.length === 1, 5000, "old delivery done");
    const oldDelivery = (await server.api("GET", `/v1/webhooks/${ok.id}/deliveries`)).body.data.at(-1).id;

    // An endpoint that keeps failing: its old delivery is still owed, so its event must survive.
    receiver.setHandler((r) => (new URL(r.url).pathname === "/down" ? new Response("no", { status: 503 }) : new Response("ok")));
    await server.api("POST", "/v1/webhooks", { url: `${receiver.url}/down`, events: ["owed.*"] });
    const owed = (await server.api("POST", "/v1/events", { type: "owed.thing", data: {} })).body.data.id;
    await waitFor(() => receiver.requests.some((r) => r.path === "/down"), 5000, "owed attempt");
    // Many old events, so the prune needs several batches.
    for (let i = 0; i < 60; i++) await server.api("POST", "/v1/events", { type: "bulk.old", data: { i } });

    clock.advance(2 * DAY);
    const recent = (await server.api("POST", "/v1/events", { type: "new.thing", data: {} })).body.data.id;
    const recentInbound = await inbound(2);

    const ingest = Promise.all(Array.from({ length: 40 }, (_, i) => inbound(100 + i)));
    const counts = await runRetention(server.app.storage, server.config, clock, silentLogger);
    const answers = await ingest;
    expect(answers.every((a) => a.status === 200)).toBe(true);

    expect(counts.events).toBeGreaterThanOrEqual(62);
    expect(counts.deliveries).toBeGreaterThanOrEqual(1);
    expect(counts.inbound).toBeGreaterThanOrEqual(1);
    expect(await status(`/v1/events/${old}`)).toBe(404);
    expect(await status(`/v1/deliveries/${oldDelivery}`)).toBe(404);
    expect(await status(`/v1/events/${oldInbound.body.id}`)).toBe(404);
    expect(await status(`/v1/events/${owed}`)).toBe(200);
    expect(await status(`/v1/events/${recent}`)).toBe(200);
    expect(await status(`/v1/events/${recentInbound.body.id}`)).toBe(200);
    const kept = (await server.api("GET", "/v1/inbound?limit=500")).body.data;
    expect(kept.some((r: { event_id: string }) => r.event_id === recentInbound.body.id)).toBe(true);
    expect(kept.some((r: { event_id: string }) => r.event_id === oldInbound.body.id)).toBe(false);

    const again = await runRetention(server.app.storage, server.config, clock, silentLogger);
    expect(again.events + again.deliveries + again.inbound).toBe(0);
  }, 20_000);
});

describe("retentionCutoffs", () => {
  test("each kind of row has its own cutoff", () => {
    const config = loadConfig('[retention]\ndeliveries = "2d"\nevents = "5d"\ninbound = "1d"', {});
    const now = 100 * DAY;
    expect(retentionCutoffs(config, now)).toMatchObject({ now, deliveriesBefore: now - 2 * DAY, eventsBefore: now - 5 * DAY, inboundBefore: now - DAY });
  });
});

describe("retention with a different age per kind", () => {
  let c: FakeClock;
  let s: TestServer;
  beforeAll(async () => {
    c = new FakeClock();
    s = await startTestServer(
      {
        delivery: 'require_https = false\nallow_targets = ["127.0.0.0/8"]',
        retention: 'deliveries = "3d"\nevents = "5d"\ninbound = "1d"',
        "[[sources]]": 'id = "erp"\nauth = "token"\nsecret = "erp-token-1"\nschema = "json"\nevent_type = "erp.kinds"',
      },
      { clock: c },
    );
  });
  afterAll(() => s.stop());

  test("inbound records, deliveries and events each go when their own retention has passed", async () => {
    const hook = (await s.api("POST", "/v1/webhooks", { url: `${receiver.url}/kinds`, events: ["erp.kinds"] })).body.data;
    const sent = await call(`${s.url}/in/erp`, "POST", JSON.stringify({ n: 1 }), { "x-auth-token": "erp-token-1" });
    expect(sent.status).toBe(200);
    const eventId = sent.body.id;
    const delivered = async () => (await s.api("GET", `/v1/webhooks/${hook.id}/deliveries?status=delivered`)).body.data;
    await waitFor(async () => (await delivered()).length === 1, 5000, "delivery done");
    const deliveryId = (await delivered())[0].id;
    const inboundKept = async () => (await s.api("GET", "/v1/inbound?limit=500")).body.data.some((r: { event_id: string }) => r.event_id === eventId);
    const prune = () => runRetention(s.app.storage, s.config, c, silentLogger);
    const state = async () => ({
      inbound: await inboundKept(),
      delivery: (await s.api("GET", `/v1/deliveries/${deliveryId}`)).status,
      event: (await s.api("GET", `/v1/events/${eventId}`)).status,
    });
    expect(await state()).toEqual({ inbound: true, delivery: 200, event: 200 });

    c.advance(2 * DAY); // past inbound (1d) only
    expect((await prune()).inbound).toBe(1);
    expect(await state()).toEqual({ inbound: false, delivery: 200, event: 200 });

    c.advance(2 * DAY); // 4 days: past deliveries (3d) too
    expect((await prune()).deliveries).toBe(1);
    expect(await state()).toEqual({ inbound: false, delivery: 404, event: 200 });

    c.advance(2 * DAY); // 6 days: past events (5d)
    expect((await prune()).events).toBe(1);
    expect(await state()).toEqual({ inbound: false, delivery: 404, event: 404 });
  }, 20_000);
});
