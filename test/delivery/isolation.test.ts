import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { waitFor } from "../support/process";
import { type Receiver, startReceiver } from "../support/receiver";
import { startTestServer, type TestServer } from "../support/test-server";

// One endpoint never answers within the timeout; the healthy one must not notice.
const N = 200;
let server: TestServer;
let healthy: Receiver;
let dead: Receiver;

beforeAll(async () => {
  healthy = startReceiver();
  dead = startReceiver(async () => {
    await Bun.sleep(10_000);
    return new Response("too late");
  });
  server = await startTestServer({
    delivery: [
      "require_https = false",
      'allow_targets = ["127.0.0.0/8"]',
      'timeout = "2s"',
      "concurrency = 16",
      "per_endpoint_concurrency = 4",
      'retry_schedule = ["1h"]',
    ].join("\n"),
  });
});
afterAll(async () => {
  await server.stop();
  await healthy.stop();
  await dead.stop();
});

async function timeToDeliver(type: string, path: string): Promise<number> {
  const started = performance.now();
  await Promise.all(Array.from({ length: N }, (_, i) => server.api("POST", "/v1/events", { type, data: { i } })));
  await waitFor(() => healthy.requests.filter((r) => r.path === path).length >= N, 10_000, `${N} deliveries to ${path}`);
  return performance.now() - started;
}

describe("a dead endpoint does not hold back a healthy one", () => {
  test(`${N} events reach the healthy endpoint as fast with a dead one subscribed as without`, async () => {
    await server.api("POST", "/v1/webhooks", { url: `${healthy.url}/alone`, events: ["alone.event"] });
    const alone = await timeToDeliver("alone.event", "/alone");

    await server.api("POST", "/v1/webhooks", { url: `${healthy.url}/shared`, events: ["shared.event"] });
    await server.api("POST", "/v1/webhooks", { url: `${dead.url}/dead`, events: ["shared.event"] });
    const shared = await timeToDeliver("shared.event", "/shared");

    console.log(`healthy endpoint: ${N} deliveries in ${alone.toFixed(0)} ms alone, ${shared.toFixed(0)} ms beside a dead endpoint`);
    // All of them arrive while the dead endpoint's first attempts are still waiting for their 2 s timeout.
    expect(shared).toBeLessThan(2_000);
    expect(shared).toBeLessThan(alone * 3 + 250);
    expect(dead.started).toBeLessThanOrEqual(4); // per_endpoint_concurrency: the dead one holds only its own slots
    // The healthy endpoint's last attempts may still be being recorded when its receiver has them all;
    // once they are, only the dead endpoint's own slots stay in flight.
    await waitFor(() => server.app.scheduler.inFlight <= 4, 2_000, "only the dead endpoint's slots in flight");
    expect(dead.started).toBeLessThanOrEqual(4);
  }, 20_000);

  test("a healthy endpoint's retry is on time even right after a dead endpoint's retry was claimed", async () => {
    // Timeline: the dead endpoint's first attempt times out (2 s); then the flaky one fails once.
    // The dead one's retry becomes due ~50 ms before the flaky one's; the round that claims it must
    // still arm a timer for the flaky retry instead of waiting for the dead attempt (2 s) to end.
    const gapServer = await startTestServer({
      delivery: 'require_https = false\nallow_targets = ["127.0.0.0/8"]\ntimeout = "2s"\nretry_schedule = ["1s", "1s"]',
    }, { random: () => 0 });
    let calls = 0;
    const flaky = startReceiver(() => (calls++ === 0 ? new Response("once", { status: 500 }) : new Response("ok")));
    try {
      await gapServer.api("POST", "/v1/webhooks", { url: `${dead.url}/dead-gap`, events: ["gap.dead"] });
      await gapServer.api("POST", "/v1/webhooks", { url: `${flaky.url}/flaky`, events: ["gap.flaky"] });
      await gapServer.api("POST", "/v1/events", { type: "gap.dead", data: {} });
      await waitFor(async () => (await gapServer.app.storage.deliveries.countByStatus()).failed === 1, 5_000, "dead attempt timed out");
      await gapServer.api("POST", "/v1/events", { type: "gap.flaky", data: {} });
      await waitFor(() => flaky.requests.length === 2, 10_000, "the flaky endpoint's retry");
      const gap = flaky.requests[1]!.at - flaky.requests[0]!.at;
      console.log(`flaky endpoint retried ${gap} ms after its first attempt (schedule: 1 s)`);
      expect(gap).toBeGreaterThanOrEqual(1000);
      expect(gap).toBeLessThan(1700);
    } finally {
      await flaky.stop();
      await gapServer.stop();
    }
  }, 20_000);
});
