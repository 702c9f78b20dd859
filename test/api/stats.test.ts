import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startTestServer, type TestServer } from "../support/test-server";

let server: TestServer;
let receiver: ReturnType<typeof Bun.serve>;
let failing = true;
beforeAll(async () => {
  receiver = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("nope", { status: failing ? 500 : 200 }) });
  server = await startTestServer({ delivery: 'require_https = false\nallow_targets = ["127.0.0.0/8"]\nretry_schedule = ["1h"]' });
});
afterAll(async () => {
  await server.stop();
  receiver.stop(true);
});

describe("GET /v1/stats", () => {
  test("needs a key", async () => {
    const answer = await server.api("GET", "/v1/stats", undefined, { authorization: "" });
    expect(answer.status).toBe(401);
  });

  test("an empty hub: zeros and no failing endpoints", async () => {
    const answer = await server.api("GET", "/v1/stats");
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({
      data: {
        deliveries: { pending: 0, failed: 0, delivered: 0, expired: 0 },
        oldest_pending_seconds: 0,
        attempts_last_minute: 0,
        failing_endpoints: [],
      },
    });
  });

  test("counts a failed attempt and names the failing endpoint", async () => {
    const made = await server.api("POST", "/v1/webhooks", { url: `http://127.0.0.1:${receiver.port}/hook`, events: ["*"] });
    expect(made.status).toBe(201);
    const sent = await server.api("POST", `/v1/webhooks/${made.body.data.id}/test`);
    expect(sent.status).toBe(202);
    let stats: any;
    for (let i = 0; i < 100; i++) {
      stats = (await server.api("GET", "/v1/stats")).body.data;
      if (stats.deliveries.failed === 1) break;
      await Bun.sleep(50);
    }
    expect(stats.deliveries).toEqual({ pending: 0, failed: 1, delivered: 0, expired: 0 });
    expect(stats.attempts_last_minute).toBe(1);
    expect(stats.oldest_pending_seconds).toBeGreaterThanOrEqual(0);
    expect(stats.failing_endpoints).toHaveLength(1);
    expect(stats.failing_endpoints[0]).toMatchObject({ id: made.body.data.id, url: `http://127.0.0.1:${receiver.port}/hook`, failure_count: 1 });
    expect(stats.failing_endpoints[0].failing_since).toMatch(/Z$/);
  });

  test("is documented in /openapi.json", async () => {
    const doc = await (await fetch(`${server.url}/openapi.json`)).json();
    expect(doc.paths["/v1/stats"].get.summary).toContain("overview");
    expect(doc.paths["/ui"]).toBeUndefined();
  });
});
