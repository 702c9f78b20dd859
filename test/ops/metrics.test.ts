import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { waitFor } from "../support/process";
import { type Receiver, startReceiver } from "../support/receiver";
import { call, startTestServer, type TestServer } from "../support/test-server";

interface Family {
  name: string;
  type: string;
  metrics: { value?: string; labels?: Record<string, string>; buckets?: Record<string, string>; count?: string }[];
}

let server: TestServer;
let receiver: Receiver;
beforeAll(async () => {
  receiver = startReceiver((r) => (new URL(r.url).pathname === "/bad" ? new Response("no", { status: 500 }) : new Response("ok")));
  server = await startTestServer({
    delivery: 'require_https = false\nallow_targets = ["127.0.0.0/8"]\nretry_schedule = ["1h"]',
    "[[sources]]": 'id = "erp"\nauth = "token"\nsecret = "erp-token-1"\nschema = "json"\nevent_type = "erp.thing"',
  });
});
afterAll(async () => {
  await server.stop();
  await receiver.stop();
});

async function scrape(): Promise<Map<string, Family>> {
  const answer = await fetch(`${server.url}/metrics`);
  expect(answer.status).toBe(200);
  expect(answer.headers.get("content-type")).toContain("text/plain");
  const families = parsePrometheusTextFormat(await answer.text()) as Family[];
  return new Map(families.map((f) => [f.name, f]));
}

const value = (m: Map<string, Family>, name: string, labels: Record<string, string> = {}) => {
  const found = m.get(name)?.metrics.find((x) => Object.entries(labels).every(([k, v]) => x.labels?.[k] === v));
  return Number(found?.value ?? found?.count ?? 0);
};

describe("/metrics", () => {
  test("parses as Prometheus text, with SPEC §8's names, and the counters move with traffic", async () => {
    const before = await scrape();
    for (const name of [
      "hookd_inbound_requests_total", "hookd_events_created_total", "hookd_delivery_attempts_total", "hookd_deliveries",
      "hookd_oldest_pending_delivery_seconds", "hookd_delivery_attempt_duration_seconds", "hookd_group_commit_batch_size",
    ]) expect(before.has(name)).toBe(true);
    expect(before.get("hookd_delivery_attempt_duration_seconds")!.type).toBe("HISTOGRAM");
    expect(before.get("hookd_deliveries")!.type).toBe("GAUGE");

    await server.api("POST", "/v1/webhooks", { url: `${receiver.url}/good`, events: ["erp.*"] });
    await server.api("POST", "/v1/webhooks", { url: `${receiver.url}/bad`, events: ["erp.*"] });
    const inbound = (body: string, token: string, source = "erp") =>
      call(`${server.url}/in/${source}`, "POST", body, { "x-auth-token": token });
    for (let i = 0; i < 3; i++) expect((await inbound(JSON.stringify({ i }), "erp-token-1")).status).toBe(200);
    expect((await inbound("{}", "wrong")).status).toBe(401);
    expect((await inbound("{}", "x", "who")).status).toBe(404);
    await server.api("POST", "/v1/events", { type: "erp.manual", data: {} });
    await waitFor(async () => {
      const counts = await server.app.storage.deliveries.countByStatus();
      return counts.delivered === 4 && counts.failed === 4 && server.app.scheduler.idle;
    }, 5000, "4 delivered, 4 failed");

    const after = await scrape();
    expect(value(after, "hookd_inbound_requests_total", { source: "erp", outcome: "accepted" })).toBe(3);
    expect(value(after, "hookd_inbound_requests_total", { source: "erp", outcome: "invalid_token" })).toBe(1);
    expect(value(after, "hookd_inbound_requests_total", { source: "_unknown", outcome: "unknown_source" })).toBe(1);
    expect(value(after, "hookd_events_created_total", { origin: "inbound" })).toBe(3);
    expect(value(after, "hookd_events_created_total", { origin: "api" })).toBe(1);
    expect(value(after, "hookd_delivery_attempts_total", { outcome: "delivered" })).toBe(4);
    expect(value(after, "hookd_delivery_attempts_total", { outcome: "failed" })).toBe(4);
    expect(value(after, "hookd_deliveries", { status: "delivered" })).toBe(4);
    expect(value(after, "hookd_deliveries", { status: "failed" })).toBe(4);
    expect(value(after, "hookd_oldest_pending_delivery_seconds")).toBeGreaterThan(0);
    expect(value(after, "hookd_delivery_attempt_duration_seconds")).toBe(8);
    expect(value(after, "hookd_group_commit_batch_size")).toBeGreaterThan(value(before, "hookd_group_commit_batch_size"));
  });

  test("needs no API key", async () => {
    expect((await call(`${server.url}/metrics`, "GET")).status).toBe(200);
  });
});
