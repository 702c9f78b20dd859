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
    expect(server.app.scheduler.inFlight).toBeLessThanOrEqual(4);
  });
});
