import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rawRequest } from "../support/raw-http";
import { call, startTestServer, type TestServer } from "../support/test-server";

// Walks every /v1 route the OpenAPI document lists, so a new route is covered the day it is added.
let server: TestServer;
let routes: [string, string][] = [];

beforeAll(async () => {
  server = await startTestServer();
  const spec = (await call(`${server.url}/openapi.json`, "GET")).body;
  for (const [path, ops] of Object.entries(spec.paths as Record<string, Record<string, unknown>>)) {
    if (!path.startsWith("/v1")) continue;
    for (const method of Object.keys(ops)) {
      routes.push([method.toUpperCase(), path.replace(/\{(\w+)\}|:(\w+)/g, "wh_00000000000000000000000000")]);
    }
  }
});
afterAll(() => server.stop());

describe("admin API without a valid key", () => {
  test("the OpenAPI document lists the foundation's routes", () => {
    const listed = routes.map(([m, p]) => `${m} ${p}`);
    for (const expected of ["POST /v1/webhooks", "GET /v1/webhooks", "PATCH /v1/webhooks/wh_00000000000000000000000000",
      "DELETE /v1/webhooks/wh_00000000000000000000000000", "POST /v1/events", "GET /v1/events", "GET /v1/event-types",
      "POST /v1/resources", "DELETE /v1/resources/wh_00000000000000000000000000"]) {
      expect(listed).toContain(expected);
    }
  });

  const credentials: [string, Record<string, string>][] = [
    ["no Authorization header", {}],
    ["a wrong key", { authorization: "Bearer not-the-key-0123456789" }],
    ["a Basic header", { authorization: "Basic dGVzdDp0ZXN0" }],
    ["an empty Bearer", { authorization: "Bearer " }],
  ];
  for (const [name, headers] of credentials) {
    test(`every route answers 401 with ${name}, in the error envelope, with X-Request-ID`, async () => {
      expect(routes.length).toBeGreaterThan(8);
      for (const [method, path] of routes) {
        const answer = await call(`${server.url}${path}`, method, method === "GET" || method === "DELETE" ? undefined : { url: "x" }, headers);
        expect({ route: `${method} ${path}`, status: answer.status }).toEqual({ route: `${method} ${path}`, status: 401 });
        expect(answer.body.error.code).toBe("unauthorized");
        expect(answer.body.error.request_id).toBe(answer.headers.get("x-request-id")!);
        expect(answer.headers.get("x-request-id")).toBeTruthy();
      }
    });
  }

  test("an unknown /v1 path is 401 too, so routes cannot be discovered without a key", async () => {
    const answer = await call(`${server.url}/v1/nothing-here`, "GET");
    expect(answer.status).toBe(401);
  });

  test("the right key passes", async () => {
    const answer = await server.api("GET", "/v1/webhooks");
    expect(answer.status).toBe(200);
  });
});

describe("[api] allow_ips", () => {
  test("a client outside allow_ips gets 403 before the key is checked", async () => {
    const closed = await startTestServer({ api: 'allow_ips = ["10.9.0.0/16"]' });
    try {
      const noKey = await call(`${closed.url}/v1/webhooks`, "GET");
      expect(noKey.status).toBe(403);
      expect(noKey.body.error.code).toBe("ip_not_allowed");
      const withKey = await closed.api("GET", "/v1/webhooks");
      expect(withKey.status).toBe(403);
      const health = await call(`${closed.url}/healthz`, "GET");
      expect(health.status).toBe(200);
    } finally {
      await closed.stop();
    }
  });

  test("a client inside allow_ips reaches the key check", async () => {
    const open = await startTestServer({ api: 'allow_ips = ["127.0.0.0/8", "::1/128"]' });
    try {
      expect((await call(`${open.url}/v1/webhooks`, "GET")).status).toBe(401);
      expect((await open.api("GET", "/v1/webhooks")).status).toBe(200);
    } finally {
      await open.stop();
    }
  });
});

describe("a server with no API keys", () => {
  test("answers 401 on /v1 whatever is sent, and says how to add a key", async () => {
    const s = await startTestServer({}, { keys: false });
    try {
      for (const auth of [undefined, "Bearer anything-at-all-123456", "Bearer "]) {
        const answer = await call(`${s.url}/v1/webhooks`, "GET", undefined, auth ? { authorization: auth } : {});
        expect(answer.status).toBe(401);
        expect(answer.body.error.message).toContain("hash-key");
      }
      expect((await call(`${s.url}/readyz`, "GET")).status).toBe(200);
    } finally {
      await s.stop();
    }
  });
});

describe("the path the router sees is the path that was authenticated", () => {
  const port = () => Number(new URL(server.url).port);
  const heads = [
    "GET /xx/v1/webhooks HTTP/1.1\nHost: a",
    "GET /xx/v1/webhooks HTTP/1.1\nHost: ab",
    "GET /v1/webhooks HTTP/1.1\nHost: a",
    "GET /%761/webhooks HTTP/1.1\nHost: 127.0.0.1",
    "GET //v1/webhooks HTTP/1.1\nHost: 127.0.0.1",
    "GET /V1/webhooks HTTP/1.1\nHost: 127.0.0.1",
    "GET /v1/webhooks/ HTTP/1.1\nHost: 127.0.0.1",
    "GET /v1/%2e%2e/v1/webhooks HTTP/1.1\nHost: 127.0.0.1",
    "GET /./v1/webhooks HTTP/1.1\nHost: 127.0.0.1",
    "POST /xx/v1/webhooks HTTP/1.1\nHost: a\nContent-Type: application/json\nContent-Length: 41",
  ];
  test.each(heads)("%p never reaches a /v1 handler without a key", async (head) => {
    const body = head.startsWith("POST") ? '{"url":"https://a.example/","events":["*"]}'.slice(0, 41) : "";
    const answer = await rawRequest(port(), `${head}\nConnection: close`, body);
    expect([401, 404, 400]).toContain(answer.status);
    expect(answer.body).not.toContain('"data"');
    expect(answer.headers["x-request-id"]).toBeTruthy();
  });

  test("an empty Host header still gets an envelope and an X-Request-ID", async () => {
    const answer = await rawRequest(port(), "GET /healthz HTTP/1.1\nHost: \nConnection: close");
    expect(answer.headers["x-request-id"]).toBeTruthy();
    expect(answer.status).toBeLessThan(500);
  });

  test("a declared body far over max_body is a 413 envelope, not a bare 413", async () => {
    const answer = await rawRequest(port(), `POST /v1/resources HTTP/1.1\nHost: 127.0.0.1\nAuthorization: Bearer ${server.key}\nContent-Length: 50000000\nConnection: close`);
    expect(answer.status).toBe(413);
    expect(answer.headers["x-request-id"]).toBeTruthy();
    expect(JSON.parse(answer.body).error.code).toBe("payload_too_large");
  });

  test("JSON nested far too deep is a 422 naming the body, never a 5xx", async () => {
    const deep = `{"name":"x","metadata":${'{"a":'.repeat(50_000)}1${"}".repeat(50_000)}}`;
    const answer = await server.api("POST", "/v1/resources", deep);
    expect(answer.status).toBe(422);
    expect(answer.body.error.details[0].field).toBe("body");
  });

  test("an Idempotency-Key scope ignores a trailing slash, like the router", async () => {
    const a = await server.api("POST", "/v1/resources", { name: "slash" }, { "idempotency-key": "slash-1" });
    const b = await server.api("POST", "/v1/resources/", { name: "slash" }, { "idempotency-key": "slash-1" });
    expect(b.headers.get("idempotent-replayed")).toBe("true");
    expect(b.body.data.id).toBe(a.body.data.id);
  });
});
