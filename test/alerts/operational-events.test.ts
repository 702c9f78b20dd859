import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { waitFor } from "../support/process";
import {
  advance, advanceUntil, type AlertRig, deliveries, endpoint, exactly, hookdAtStar, publish, received, settled, startAlertRig, typeFor,
} from "./kit";

// Real server and receiver, fake clock. Two attempts per delivery ("5s" schedule), endpoints failing
// for a minute are disabled, and three failures in a row make a streak worth reporting.
const SECTIONS = {
  delivery: [
    "require_https = false",
    'allow_targets = ["127.0.0.0/8"]',
    'retry_schedule = ["5s"]',
    'timeout = "2s"',
    "max_endpoints = 50",
    'disable_after = "1m"',
  ].join("\n"),
  alerts: "failing_after = 3",
};

let rig: AlertRig;
beforeAll(async () => {
  rig = await startAlertRig(SECTIONS);
});
afterAll(async () => {
  await rig.stop();
});
afterEach(() => {
  // An endpoint subscribed to "*" never gets hookd's own events (SPEC §11: opt-in).
  expect(hookdAtStar(rig)).toEqual([]);
});

const status = (code: number) => () => new Response(`answer ${code}`, { status: code });

describe("hookd.endpoint.disabled", () => {
  test("a 410 disables the endpoint: one event, counting the one answered and the ones waiting behind it", async () => {
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    rig.behaviours.set("/gone", async () => {
      await gate;
      return new Response("gone", { status: 410 });
    });
    // FIFO: one delivery in flight, the other two wait in the lane, so what expires with it is known.
    const id = await endpoint(rig, "/gone", { ordering: "fifo" });
    for (let i = 0; i < 3; i++) await publish(rig, "/gone");
    open();
    const [event] = await exactly(rig, 1, "hookd.endpoint.disabled", id);
    expect(event!.data).toEqual({ webhook_id: id, url: rig.receiver.url, reason: "gone", expired: 3 });
    expect((await rig.server.api("GET", `/v1/webhooks/${id}`)).body.data.status).toBe("disabled");
    // Expired with the endpoint: counted in the disable, never one event per delivery.
    expect(received(rig, "hookd.deliveries.expired", id)).toEqual([]);
  });

  test("disable_after: an endpoint failing for longer is disabled with reason failing", async () => {
    rig.behaviours.set("/dying", status(500));
    const id = await endpoint(rig, "/dying");
    await publish(rig, "/dying");
    await settled(rig, id, 1, (d) => d.status === "failed", "first attempt failed");
    await advance(rig, 5_000);
    await settled(rig, id, 1, (d) => d.status === "expired", "out of attempts");
    await advance(rig, 60_000);
    await publish(rig, "/dying");
    const [event] = await exactly(rig, 1, "hookd.endpoint.disabled", id);
    // The failing attempt's delivery had a retry left: it expired with the endpoint.
    expect(event!.data).toEqual({ webhook_id: id, url: rig.receiver.url, reason: "failing", expired: 1 });
  });

  test.each([
    ["disabled through the API", "PATCH", "api"],
    ["deleted through the API", "DELETE", "deleted"],
  ])("%s: one event counting its unfinished deliveries", async (_name, method, reason) => {
    const path = `/off${method.toLowerCase()}`;
    rig.behaviours.set(path, status(500));
    const id = await endpoint(rig, path);
    await publish(rig, path);
    await publish(rig, path);
    await settled(rig, id, 2, (d) => d.status === "failed", "both waiting for a retry");
    const answer = await rig.server.api(method, `/v1/webhooks/${id}`, method === "PATCH" ? { status: "disabled" } : undefined);
    expect(answer.status).toBe(method === "PATCH" ? 200 : 204);
    const [event] = await exactly(rig, 1, "hookd.endpoint.disabled", id);
    expect(event!.data).toEqual({ webhook_id: id, url: rig.receiver.url, reason, expired: 2 });
    expect(received(rig, "hookd.deliveries.expired", id)).toEqual([]);
  });
});

describe("hookd.endpoint.failing and recovered", () => {
  test("failing_after failures report failing once; the next success reports recovered", async () => {
    rig.behaviours.set("/flaky", status(500));
    const id = await endpoint(rig, "/flaky");
    await publish(rig, "/flaky");
    await settled(rig, id, 1, (d) => d.status === "failed", "failure 1");
    await advance(rig, 5_000);
    await settled(rig, id, 1, (d) => d.status === "expired", "failure 2");
    expect(received(rig, "hookd.endpoint.failing", id)).toEqual([]);
    await publish(rig, "/flaky");
    const [failing] = await exactly(rig, 1, "hookd.endpoint.failing", id);
    expect(failing!.data).toEqual({
      webhook_id: id, url: rig.receiver.url, failure_count: 3, failing_since: expect.any(String), last_error: "HTTP 500",
    });
    // A fourth failure in the same streak is not reported again.
    await publish(rig, "/flaky");
    await settled(rig, id, 3, (d) => d.attempts >= 1, "failure 4");
    await exactly(rig, 1, "hookd.endpoint.failing", id);
    rig.behaviours.set("/flaky", status(200));
    await publish(rig, "/flaky");
    const [recovered] = await exactly(rig, 1, "hookd.endpoint.recovered", id);
    expect(recovered!.data).toEqual({
      webhook_id: id, url: rig.receiver.url, failing_since: failing!.data.failing_since, recovered_at: new Date(rig.clock.now()).toISOString(),
    });
  });
});

describe("hookd.deliveries.expired", () => {
  test("50 expiring within a minute: the first reported at once, the other 49 in one event when the minute ends", async () => {
    rig.behaviours.set("/fifty", status(503));
    const id = await endpoint(rig, "/fifty");
    for (let i = 0; i < 50; i++) await publish(rig, "/fifty");
    await settled(rig, id, 50, (d) => d.status === "failed", "50 first attempts failed");
    await advance(rig, 5_000);
    const expired = await settled(rig, id, 50, (d) => d.status === "expired", "50 expired");
    const [first] = await exactly(rig, 1, "hookd.deliveries.expired", id);
    expect(first!.data).toMatchObject({ webhook_id: id, url: rig.receiver.url, count: 1, event_types: [typeFor("/fifty")], last_error: "HTTP 503" });
    await advance(rig, 60_000);
    await advanceUntil(rig, () => received(rig, "hookd.deliveries.expired", id).length >= 2, "the minute's batch");
    const events = await exactly(rig, 2, "hookd.deliveries.expired", id);
    const rest = events[1]!.data;
    expect(rest).toMatchObject({ webhook_id: id, url: rig.receiver.url, count: 49, event_types: [typeFor("/fifty")], last_error: "HTTP 503" });
    expect(rest.delivery_ids).toHaveLength(20);
    // Together the two events account for each of the 50, each once.
    const all = new Set(expired.map((d) => d.id));
    for (const d of [...first!.data.delivery_ids, ...rest.delivery_ids]) expect(all.has(d)).toBe(true);
    expect(events.reduce((n, e) => n + e.data.count, 0)).toBe(50);
  }, 30_000);

  test("deliveries of hookd.* events that expire are never reported (no loops)", async () => {
    rig.behaviours.set("/ops-down", status(500));
    const opsDown = await rig.server.api("POST", "/v1/webhooks", { url: `${rig.receiver.url}/ops-down`, events: ["hookd.endpoint.disabled"] });
    expect(opsDown.status).toBe(201);
    const downId = opsDown.body.data.id as string;
    // An ordinary endpoint expiring two at the same time: its batched event shows the window was flushed.
    rig.behaviours.set("/plain", status(500));
    const plain = await endpoint(rig, "/plain");
    await publish(rig, "/plain");
    await publish(rig, "/plain");
    const victim = await endpoint(rig, "/victim");
    expect((await rig.server.api("DELETE", `/v1/webhooks/${victim}`)).status).toBe(204);
    await settled(rig, downId, 1, (d) => d.status === "failed", "the alert's delivery failed");
    await settled(rig, plain, 2, (d) => d.status === "failed", "the plain deliveries failed");
    await advance(rig, 5_000);
    await settled(rig, downId, 1, (d) => d.status === "expired", "the alert's delivery expired");
    await settled(rig, plain, 2, (d) => d.status === "expired", "the plain deliveries expired");
    await advance(rig, 60_000);
    await advanceUntil(rig, () => received(rig, "hookd.deliveries.expired", plain).length >= 2, "the plain endpoint's batch");
    expect(received(rig, "hookd.deliveries.expired", plain).map((e) => e.data.count)).toEqual([1, 1]);
    expect(received(rig, "hookd.deliveries.expired", downId)).toEqual([]);
    expect((await deliveries(rig, downId))[0].event_type).toBe("hookd.endpoint.disabled");
  });
});

describe("opt-in", () => {
  test('"*" got the ordinary events all along, "hookd.*" the operational ones', async () => {
    await waitFor(() => rig.receiver.requests.some((r) => r.path === "/all"), 5000, "the * endpoint got events");
    expect(rig.receiver.requests.filter((r) => r.path === "/ops").every((r) => r.headers["x-hookd-event"]!.startsWith("hookd."))).toBe(true);
    expect(hookdAtStar(rig)).toEqual([]);
  });
});
