import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { FakeClock } from "../support/fake-clock";
import { waitFor } from "../support/process";
import { type Receiver, sequence, startReceiver } from "../support/receiver";
import { startTestServer, type TestServer } from "../support/test-server";

// Real server, real SQLite, real receiver on 127.0.0.1; only the scheduler's clock is fake, so
// minutes of backoff pass in microseconds. HTTP timeouts stay real.
const SECTIONS = {
  delivery: [
    "require_https = false",
    'allow_targets = ["127.0.0.0/8"]',
    'retry_schedule = ["5s", "5m"]',
    'timeout = "400ms"',
    "max_endpoints = 50",
  ].join("\n"),
};

let clock: FakeClock;
let server: TestServer;
let receiver: Receiver;

beforeAll(async () => {
  clock = new FakeClock();
  server = await startTestServer(SECTIONS, { clock, random: () => 0 });
  receiver = startReceiver();
});
afterAll(async () => {
  await server.stop();
  await receiver.stop();
});
afterEach(() => {
  receiver.setHandler(() => new Response("ok"));
});

// Each test subscribes its endpoint to its own event type, so tests never see each other's traffic.
const typeFor = (path: string) => `test${path.replace(/[^a-z]/g, "")}.happened`;

async function endpoint(path: string): Promise<{ id: string; secret: string }> {
  const answer = await server.api("POST", "/v1/webhooks", { url: `${receiver.url}${path}`, events: [typeFor(path)] });
  expect(answer.status).toBe(201);
  return answer.body.data;
}

async function publish(path: string, data: unknown = { n: 1 }): Promise<string> {
  const type = typeFor(path);
  const answer = await server.api("POST", "/v1/events", { type, data });
  expect(answer.status).toBe(202);
  return answer.body.data.id;
}

async function deliveryOf(webhookId: string) {
  const list = await server.api("GET", `/v1/webhooks/${webhookId}/deliveries`);
  const first = list.body.data[0];
  return (await server.api("GET", `/v1/deliveries/${first.id}`)).body.data;
}

/** settled waits until the delivery is no longer being attempted and matches `want`. */
async function until(webhookId: string, want: (d: any) => boolean, what: string) {
  let last: any;
  await waitFor(async () => {
    last = await deliveryOf(webhookId);
    return !last.in_flight && want(last);
  }, 5000, what);
  return last;
}

/** advance moves the fake clock once the scheduler has settled (its timer armed), so no wake-up is skipped. */
async function advance(ms: number, c: FakeClock = clock, s: TestServer = server) {
  await waitFor(() => s.app.scheduler.idle, 5000, "scheduler idle");
  c.advance(ms);
}

const hits = (path: string) => receiver.requests.filter((r) => r.path === path);

describe("retries against a real receiver", () => {
  test("fail, fail, succeed: delivered after 3 attempts, each waiting its schedule step", async () => {
    receiver.setHandler(sequence(500, 503, 200));
    const w = await endpoint("/ffs");
    await publish("/ffs");
    let d = await until(w.id, (x) => x.attempts === 1, "first attempt");
    expect(d.status).toBe("failed");
    expect(d.last_status_code).toBe(500);
    // random() = 0: no jitter, and the fake clock does not move during the attempt.
    expect(Date.parse(d.next_attempt_at)).toBe(Date.parse(d.attempt_history[0].attempted_at) + 5000);
    await advance(4_000);
    expect(hits("/ffs")).toHaveLength(1); // not yet due
    await advance(1_100);
    d = await until(w.id, (x) => x.attempts === 2, "second attempt");
    expect(d.status).toBe("failed");
    await advance(5 * 60_000 + 100);
    d = await until(w.id, (x) => x.status === "delivered", "delivered");
    expect(d.attempts).toBe(3);
    expect(d.attempt_history.map((a: { status_code: number }) => a.status_code)).toEqual([500, 503, 200]);
    expect(d.delivered_at).not.toBeNull();
    expect(hits("/ffs")).toHaveLength(3);
    const webhook = (await server.api("GET", `/v1/webhooks/${w.id}`)).body.data;
    expect(webhook.failure_count).toBe(0);
    expect(webhook.failing_since).toBeNull();
  });

  test("always failing: expired once the schedule is used up, failure_count and last_failure_at set", async () => {
    receiver.setHandler(sequence(500));
    const w = await endpoint("/always");
    await publish("/always");
    await until(w.id, (x) => x.attempts === 1, "attempt 1");
    await advance(5_100);
    await until(w.id, (x) => x.attempts === 2, "attempt 2");
    await advance(5 * 60_000 + 100);
    const d = await until(w.id, (x) => x.status === "expired", "expired");
    expect(d.attempts).toBe(3);
    expect(d.next_attempt_at).toBeNull();
    expect(d.last_error).toBe("HTTP 500");
    const webhook = (await server.api("GET", `/v1/webhooks/${w.id}`)).body.data;
    expect(webhook.failure_count).toBe(3);
    expect(webhook.last_failure_at).not.toBeNull();
    expect(webhook.failing_since).not.toBeNull();
    expect(webhook.status).toBe("active");
    await advance(60 * 60_000);
    expect(hits("/always")).toHaveLength(3);
  });

  test("Retry-After on 429 pushes the next attempt past the schedule step", async () => {
    let calls = 0;
    receiver.setHandler(() => (calls++ === 0 ? new Response("slow down", { status: 429, headers: { "retry-after": "120" } }) : new Response("ok")));
    const w = await endpoint("/ra");
    await publish("/ra");
    const d = await until(w.id, (x) => x.attempts === 1, "attempt 1");
    const wait = Date.parse(d.next_attempt_at) - Date.parse(d.attempt_history[0].attempted_at);
    expect(wait).toBeGreaterThanOrEqual(120_000);
    expect(wait).toBeLessThan(121_000);
    await advance(60_000);
    expect(hits("/ra")).toHaveLength(1);
    await advance(61_000);
    await until(w.id, (x) => x.status === "delivered", "delivered after Retry-After");
  });

  test("a redirect is not followed and counts as a failure", async () => {
    receiver.setHandler((r) =>
      new URL(r.url).pathname === "/moved" ? new Response(null, { status: 302, headers: { location: `${receiver.url}/target` } }) : new Response("ok"),
    );
    const w = await endpoint("/moved");
    await publish("/moved");
    const d = await until(w.id, (x) => x.attempts === 1, "attempt 1");
    expect(d.status).toBe("failed");
    expect(d.last_status_code).toBe(302);
    expect(d.last_error).toContain("redirect");
    expect(hits("/target")).toHaveLength(0);
  });

  test("a 10 KB response is stored as its first 2048 bytes", async () => {
    const big = "x".repeat(2000) + "y".repeat(8240);
    receiver.setHandler(() => new Response(big, { status: 500 }));
    const w = await endpoint("/big");
    await publish("/big");
    const d = await until(w.id, (x) => x.attempts === 1, "attempt 1");
    expect(d.last_response).toBe(big.slice(0, 2048));
    expect(d.attempt_history[0].response).toBe(big.slice(0, 2048));
  });

  test("a receiver slower than timeout is a failed attempt with an error", async () => {
    receiver.setHandler(async () => {
      await Bun.sleep(1500);
      return new Response("too late");
    });
    const w = await endpoint("/slow");
    await publish("/slow");
    const d = await until(w.id, (x) => x.attempts === 1, "attempt 1");
    expect(d.status).toBe("failed");
    expect(d.last_status_code).toBeNull();
    expect(d.last_error).toMatch(/^timeout/);
    expect(d.attempt_history[0].duration_ms).toBeGreaterThanOrEqual(380);
    expect(d.attempt_history[0].duration_ms).toBeLessThan(1400);
  });

  test("410 Gone disables the endpoint at once and expires the delivery", async () => {
    receiver.setHandler(() => new Response("gone", { status: 410 }));
    const w = await endpoint("/gone");
    await publish("/gone");
    const d = await until(w.id, (x) => x.status === "expired", "expired");
    expect(d.attempts).toBe(1);
    expect((await server.api("GET", `/v1/webhooks/${w.id}`)).body.data.status).toBe("disabled");
    await publish("/gone");
    const list = (await server.api("GET", `/v1/webhooks/${w.id}/deliveries`)).body.data;
    expect(list).toHaveLength(1); // disabled endpoints get no new deliveries
  });
});

describe("endpoint lifecycle", () => {
  test("deleting an endpoint expires its pending deliveries with endpoint_deleted; history stays readable", async () => {
    receiver.setHandler(sequence(500));
    const w = await endpoint("/del");
    await publish("/del");
    await until(w.id, (x) => x.status === "failed", "failed once");
    expect((await server.api("DELETE", `/v1/webhooks/${w.id}`)).status).toBe(204);
    const d = await deliveryOf(w.id);
    expect(d.status).toBe("expired");
    expect(d.last_error).toBe("endpoint_deleted");
    await advance(10 * 60_000);
    expect(hits("/del")).toHaveLength(1);
  });

  test("disabling an endpoint expires its pending deliveries", async () => {
    receiver.setHandler(sequence(500));
    const w = await endpoint("/dis");
    await publish("/dis");
    await until(w.id, (x) => x.status === "failed", "failed once");
    await server.api("PATCH", `/v1/webhooks/${w.id}`, { status: "disabled" });
    const d = await deliveryOf(w.id);
    expect(d.status).toBe("expired");
    expect(d.last_error).toBe("endpoint_disabled");
  });

  test("an endpoint failing longer than disable_after is disabled", async () => {
    const c = new FakeClock();
    const s = await startTestServer({ delivery: `${SECTIONS.delivery.replace('["5s", "5m"]', '["1h", "1h", "1h", "1h"]')}\ndisable_after = "2h"` }, { clock: c, random: () => 0 });
    try {
      receiver.setHandler(sequence(500));
      const w = (await s.api("POST", "/v1/webhooks", { url: `${receiver.url}/disable-after`, events: ["*"] })).body.data;
      await s.api("POST", "/v1/events", { type: "a.b", data: {} });
      const status = async () => (await s.api("GET", `/v1/webhooks/${w.id}`)).body.data;
      await waitFor(async () => (await status()).failure_count === 1, 5000, "attempt 1");
      await advance(3_600_100, c, s);
      await waitFor(async () => (await status()).failure_count === 2, 5000, "attempt 2");
      expect((await status()).status).toBe("active");
      await advance(3_600_100, c, s);
      await waitFor(async () => (await status()).status === "disabled", 5000, "disabled after 2h failing");
    } finally {
      await s.stop();
    }
  });
});
