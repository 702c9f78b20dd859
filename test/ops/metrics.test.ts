import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync } from "node:fs";
import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { waitFor } from "../support/process";
import { type Receiver, startReceiver } from "../support/receiver";
import { call, startTestServer, type TestServer } from "../support/test-server";

interface Family {
  name: string;
  type: string;
  metrics: { value?: string; labels?: Record<string, string>; buckets?: Record<string, string>; count?: string }[];
}

const PROMTOOL = Bun.which("promtool") ?? (existsSync("/usr/bin/promtool") ? "/usr/bin/promtool" : null);

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

  test("a scrape after traffic (inbound, publish, deliveries, failures) passes `promtool check metrics` with no output", async () => {
    // Traffic of its own, so the test holds alone: an accepted and a refused inbound request, a publish, a failure.
    await server.api("POST", "/v1/webhooks", { url: `${receiver.url}/bad`, events: ["erp.*"] });
    expect((await call(`${server.url}/in/erp`, "POST", "{}", { "x-auth-token": "erp-token-1" })).status).toBe(200);
    expect((await call(`${server.url}/in/erp`, "POST", "{}", { "x-auth-token": "wrong" })).status).toBe(401);
    await server.api("POST", "/v1/events", { type: "erp.promtool", data: {} });
    await waitFor(async () => (await server.app.storage.deliveries.countByStatus()).pending === 0 && server.app.scheduler.idle, 5000, "deliveries settled");
    const text = await (await fetch(`${server.url}/metrics`)).text();
    expect(text).toContain('hookd_delivery_attempts_total{outcome="failed"}');
    expect(text).not.toMatch(/\bnan\b/i);
    if (PROMTOOL === null) {
      console.warn("promtool not found: skipped `promtool check metrics` (Debian package: prometheus)");
      return;
    }
    const run = Bun.spawnSync([PROMTOOL, "check", "metrics"], { stdin: new TextEncoder().encode(text), stdout: "pipe", stderr: "pipe" });
    expect({ exitCode: run.exitCode, output: `${run.stdout.toString()}${run.stderr.toString()}` }).toEqual({ exitCode: 0, output: "" });
  });

  test("process series are the standard ones, true under Bun; no Node-only runtime series", async () => {
    const m = await scrape();
    const names = [...m.keys()];
    expect(names.filter((n) => n.startsWith("hookd_process_") || n.startsWith("nodejs_") || n.includes("heap"))).toEqual([]);
    for (const counter of ["process_cpu_user_seconds_total", "process_cpu_system_seconds_total", "process_cpu_seconds_total"]) {
      expect(m.get(counter)?.type).toBe("COUNTER");
    }
    const cpu = process.cpuUsage();
    expect(value(m, "process_cpu_seconds_total")).toBeGreaterThan(0);
    expect(value(m, "process_cpu_seconds_total")).toBeLessThanOrEqual((cpu.user + cpu.system) / 1e6 + 0.5);
    expect(value(m, "process_cpu_seconds_total")).toBeCloseTo(value(m, "process_cpu_user_seconds_total") + value(m, "process_cpu_system_seconds_total"), 5);
    const rss = process.memoryUsage.rss();
    expect(value(m, "process_resident_memory_bytes")).toBeGreaterThan(rss / 2);
    expect(value(m, "process_resident_memory_bytes")).toBeLessThan(rss * 2);
    expect(Math.abs(value(m, "process_start_time_seconds") - (Date.now() / 1000 - process.uptime()))).toBeLessThan(5);
    if (process.platform === "linux") {
      const fds = readdirSync("/proc/self/fd").length;
      expect(Math.abs(value(m, "process_open_fds") - fds)).toBeLessThan(16);
      expect(value(m, "process_max_fds")).toBeGreaterThanOrEqual(value(m, "process_open_fds"));
    }
    expect(m.get("hookd_event_loop_lag_p99_seconds")?.type).toBe("GAUGE");
  });

  test("hookd_event_loop_lag_p99_seconds sees a blocked event loop", async () => {
    await scrape();
    const until = Date.now() + 250;
    while (Date.now() < until) {} // a handler that blocks the loop for 250 ms
    await Bun.sleep(30);
    const lag = value(await scrape(), "hookd_event_loop_lag_p99_seconds");
    expect(lag).toBeGreaterThan(0.2);
    expect(lag).toBeLessThan(5);
  });

  test("needs no API key", async () => {
    expect((await call(`${server.url}/metrics`, "GET")).status).toBe(200);
  });
});
