import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { join } from "node:path";
import { seriesWindow } from "../../src/api/stats";
import { ApiError } from "../../src/http/errors";
import { ENDPOINTS_SQL, INBOUND_SQL, SERIES_SQL } from "../../src/storage/sqlite/stats";
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

describe("GET /v1/stats?window=&step=", () => {
  test("serves one entry per step and the endpoint's success rate; the failed attempt is in the series", async () => {
    const answer = await server.api("GET", "/v1/stats?window=1h&step=1m");
    expect(answer.status).toBe(200);
    const series = answer.body.data.series;
    expect(series.step_seconds).toBe(60);
    expect(series.deliveries).toHaveLength(60);
    expect(series.inbound).toHaveLength(60);
    expect(Date.parse(series.until) - Date.parse(series.since)).toBe(3_600_000);
    expect(Date.parse(series.deliveries[1].at) - Date.parse(series.deliveries[0].at)).toBe(60_000);
    const sum = (k: string) => series.deliveries.reduce((n: number, d: Record<string, number>) => n + (d[k] ?? 0), 0);
    expect({ delivered: sum("delivered"), failed: sum("failed"), expired: sum("expired") }).toEqual({ delivered: 0, failed: 1, expired: 0 });
    expect(series.endpoints).toHaveLength(1);
    expect(series.endpoints[0]).toMatchObject({ url: `http://127.0.0.1:${receiver.port}/hook`, attempts: 1, succeeded: 0, success_rate: 0 });
  });

  test.each([
    ["window=abc", "query.window"],
    ["window=1h&step=1s", "query.step"],
    ["window=2d", "query.window"],
    ["window=24h&step=10s", "query.step"],
    ["window=10s&step=1m", "query.window"],
  ])("%s is 400 naming %s", async (q, field) => {
    const answer = await server.api("GET", `/v1/stats?${q}`);
    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe("invalid_query");
    expect(answer.body.error.details[0].field).toBe(field);
  });
});

describe("seriesWindow", () => {
  const now = Date.UTC(2030, 0, 1, 12, 30, 15);
  test.each([
    ["neither given: no series", {}, null],
    ["1h of 1m: 60 steps, the last holding now", { window: "1h", step: "1m" }, { since: Date.UTC(2030, 0, 1, 11, 31), stepMs: 60_000, steps: 60 }],
    ["step alone: a 1h window", { step: "5m" }, { since: Date.UTC(2030, 0, 1, 11, 35), stepMs: 300_000, steps: 12 }],
    ["a window that is not a multiple of the step rounds up", { window: "90s", step: "1m" }, { since: Date.UTC(2030, 0, 1, 12, 29), stepMs: 60_000, steps: 2 }],
  ] as const)("%s", (_name, query, expected) => {
    expect(seriesWindow(query, now)).toEqual(expected);
  });

  test("a bad value is an ApiError naming the parameter", () => {
    expect(() => seriesWindow({ window: "1x" }, now)).toThrow(ApiError);
  });
});

describe("SQLite query plans of the series", () => {
  test("each statement reads its time index, and deliveries by primary key", () => {
    const db = new Database(join(server.dir, "hookd.db"), { readonly: true });
    try {
      const plan = (sql: string, args: number[]) =>
        db.query<{ detail: string }, number[]>(`EXPLAIN QUERY PLAN ${sql}`).all(...args).map((r) => r.detail).join("\n");
      const series = plan(SERIES_SQL, [0, 60_000, 3_600_000]);
      expect(series).toContain("USING INDEX attempts_by_time");
      expect(series).toMatch(/SEARCH d USING INTEGER PRIMARY KEY|SEARCH d USING INDEX sqlite_autoindex_deliveries_1/);
      expect(series).not.toMatch(/SCAN (a|d)\b(?! USING)/);
      expect(plan(INBOUND_SQL, [0, 60_000, 3_600_000])).toContain("USING INDEX inbound_received");
      expect(plan(ENDPOINTS_SQL, [0, 3_600_000])).toContain("USING INDEX attempts_by_time");
    } finally {
      db.close();
    }
  });
});
