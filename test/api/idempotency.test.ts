import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { withIdempotency } from "../../src/http/idempotency";
import { FakeClock } from "../support/fake-clock";
import { startTestServer, type TestServer } from "../support/test-server";

const MIN = 60 * 1000;
const HOUR = 60 * MIN;

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ delivery: "max_endpoints = 50" });
});
afterAll(() => server.stop());

const count = async (path: string) => (await server.api("GET", `${path}?limit=500`)).body.data.length;

describe("Idempotency-Key", () => {
  test("the same POST twice creates one object and replays the answer", async () => {
    const before = await count("/v1/webhooks");
    const body = { url: "https://idem.example/", events: ["*"] };
    const first = await server.api("POST", "/v1/webhooks", body, { "idempotency-key": "create-1" });
    const second = await server.api("POST", "/v1/webhooks", body, { "idempotency-key": "create-1" });
    expect(first.status).toBe(201);
    expect(second.status).toBe(201);
    expect(second.body).toEqual(first.body);
    expect(first.headers.get("idempotent-replayed")).toBeNull();
    expect(second.headers.get("idempotent-replayed")).toBe("true");
    expect(second.headers.get("x-request-id")).not.toBe(first.headers.get("x-request-id"));
    expect(await count("/v1/webhooks")).toBe(before + 1);
  });

  test("events and resources are created once too", async () => {
    const e1 = await server.api("POST", "/v1/events", { type: "a.b", data: {} }, { "idempotency-key": "evt-1" });
    const e2 = await server.api("POST", "/v1/events", { type: "a.b", data: {} }, { "idempotency-key": "evt-1" });
    expect(e2.body.data.id).toBe(e1.body.data.id);
    expect(e2.status).toBe(202);
    const r1 = await server.api("POST", "/v1/resources", { name: "once" }, { "idempotency-key": "res-1" });
    const r2 = await server.api("POST", "/v1/resources", { name: "once" }, { "idempotency-key": "res-1" });
    expect(r2.body.data.id).toBe(r1.body.data.id);
    const created = (await server.api("GET", "/v1/events?type=resource.created&limit=500")).body.data;
    expect(created.filter((e: { data: { object: { id: string } } }) => e.data.object.id === r1.body.data.id)).toHaveLength(1);
  });

  test("the same key with a different body is 422 idempotency_key_reused", async () => {
    await server.api("POST", "/v1/resources", { name: "a" }, { "idempotency-key": "reuse-1" });
    const answer = await server.api("POST", "/v1/resources", { name: "b" }, { "idempotency-key": "reuse-1" });
    expect(answer.status).toBe(422);
    expect(answer.body.error.code).toBe("idempotency_key_reused");
  });

  test("the body is compared byte for byte: reformatted JSON is a different body", async () => {
    await server.api("POST", "/v1/resources", '{"name":"fmt"}', { "idempotency-key": "bytes-1" });
    const answer = await server.api("POST", "/v1/resources", '{ "name": "fmt" }', { "idempotency-key": "bytes-1" });
    expect(answer.status).toBe(422);
  });

  test("keys are scoped by path: one key on two routes runs both", async () => {
    const a = await server.api("POST", "/v1/resources", { name: "scoped" }, { "idempotency-key": "scope-1" });
    const b = await server.api("POST", "/v1/events", { type: "a.b", data: {} }, { "idempotency-key": "scope-1" });
    expect(a.status).toBe(201);
    expect(b.status).toBe(202);
  });

  test("a validation failure is not remembered, so a corrected retry with the same key runs", async () => {
    const bad = await server.api("POST", "/v1/webhooks", { url: "https://fix.example/" }, { "idempotency-key": "fix-1" });
    expect(bad.status).toBe(422);
    const good = await server.api("POST", "/v1/webhooks", { url: "https://fix.example/", events: ["*"] }, { "idempotency-key": "fix-1" });
    expect(good.status).toBe(201);
  });

  test("a concurrent duplicate while the first runs is 409 or a replay, never a second object", async () => {
    const before = await count("/v1/resources");
    const answers = await Promise.all(
      Array.from({ length: 8 }, () => server.api("POST", "/v1/resources", { name: "race" }, { "idempotency-key": "race-1" })),
    );
    for (const a of answers) expect([201, 409]).toContain(a.status);
    expect(await count("/v1/resources")).toBe(before + 1);
  });

  test.each([["a".repeat(256)], ["has space"]])("an unusable key %p is 400 naming the header", async (key) => {
    const answer = await server.api("POST", "/v1/resources", { name: "k" }, { "idempotency-key": key });
    expect(answer.status).toBe(400);
    expect(answer.body.error.details[0].field).toBe("header.Idempotency-Key");
  });
});

describe("Idempotency-Key over time and on server errors", () => {
  let clock: FakeClock;
  let timed: TestServer;
  beforeAll(async () => {
    clock = new FakeClock(Date.parse("2026-01-01T00:00:00Z"));
    timed = await startTestServer({}, { clock });
  });
  afterAll(() => timed.stop());

  const create = (key: string) => timed.api("POST", "/v1/resources", { name: "ttl" }, { "idempotency-key": key });

  test("an answer is replayed for 24 h and a fresh request runs after that", async () => {
    const first = await create("ttl-1");
    expect(first.status).toBe(201);
    clock.advance(23 * HOUR + 59 * MIN);
    const replayed = await create("ttl-1");
    expect(replayed.headers.get("idempotent-replayed")).toBe("true");
    expect(replayed.body.data.id).toBe(first.body.data.id);
    clock.advance(MIN + 1000); // 24 h + 1 s after the first request
    const fresh = await create("ttl-1");
    expect(fresh.status).toBe(201);
    expect(fresh.headers.get("idempotent-replayed")).toBeNull();
    expect(fresh.body.data.id).not.toBe(first.body.data.id);
  });

  test.each([500, 503])("a %i answer is not remembered: the retry with the same key runs again", async (status) => {
    const scope = `test POST /v1/things-${status}`;
    const body = new TextEncoder().encode('{"n":1}');
    let runs = 0;
    const run = async () => {
      runs++;
      return runs === 1
        ? Response.json({ error: { code: "internal_error", message: "boom" } }, { status })
        : Response.json({ data: { run: runs } }, { status: 201 });
    };
    const failed = await withIdempotency(timed.app.storage.idempotency, clock, scope, "5xx-1", body, run);
    expect(failed.status).toBe(status);
    const retried = await withIdempotency(timed.app.storage.idempotency, clock, scope, "5xx-1", body, run);
    expect(retried.status).toBe(201);
    expect(retried.headers.get("idempotent-replayed")).toBeNull();
    expect(runs).toBe(2);
    // …and the 2xx that followed is what is remembered.
    const replayed = await withIdempotency(timed.app.storage.idempotency, clock, scope, "5xx-1", body, run);
    expect(replayed.headers.get("idempotent-replayed")).toBe("true");
    expect(await replayed.json()).toEqual({ data: { run: 2 } });
    expect(runs).toBe(2);
  });
});
