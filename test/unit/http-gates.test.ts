import { describe, expect, test } from "bun:test";
import { Elysia } from "elysia";
import { systemClock } from "../../src/clock";
import { LiveConfig } from "../../src/config/live";
import { loadConfig } from "../../src/config/load";
import { adminGate, isAdminPath } from "../../src/http/admin-gate";
import { buildHttp } from "../../src/http/server";
import { silentLogger } from "../../src/log";
import type { IdempotencyStore } from "../../src/storage/types";
import { ApiError, isServerFault } from "../../src/http/errors";
import { assertJson, jsonDepth, jsonGate } from "../../src/http/json-gate";
import { idempotencyScope } from "../../src/http/idempotency-wiring";
import { ipSetOf } from "../../src/net/cidr";
import { ApiKeyVerifier, hashApiKey } from "../../src/security/api-keys";

const KEY = "k-0123456789abcdef";

function thrown(run: () => unknown): ApiError {
  try {
    run();
  } catch (error) {
    if (error instanceof ApiError) return error;
    throw error;
  }
  throw new Error("expected an ApiError");
}

function request(authorization?: string): Request {
  return new Request("http://hookd.test/v1/webhooks", { headers: authorization ? { authorization } : {} });
}

describe("isAdminPath", () => {
  test.each([
    ["/v1", true],
    ["/v1/webhooks", true],
    ["//v1/webhooks", true],
    ["/V1/webhooks", true],
    ["/%76%31/webhooks", true],
    ["/v1%", false],
    ["/v10", false],
    ["/healthz", false],
    ["/ui/", false],
    ["/in/github", false],
  ])("%s → %p", (path, expected) => {
    expect(isAdminPath(path)).toBe(expected);
  });
});

describe("adminGate", () => {
  const keys = new ApiKeyVerifier([{ name: "ops", hash: hashApiKey(KEY) }]);

  test("returns the key's name for a valid Bearer key", () => {
    const gate = adminGate({ apiKeys: keys, apiAllowIps: ipSetOf([]) });
    expect(gate.admit(request(`Bearer ${KEY}`), "203.0.113.9").name).toBe("ops");
  });

  test("checks allow_ips before the key: an outside caller gets 403 even with the right key", () => {
    const gate = adminGate({ apiKeys: keys, apiAllowIps: ipSetOf(["10.0.0.0/8"]) });
    const error = thrown(() => gate.admit(request(`Bearer ${KEY}`), "203.0.113.9"));
    expect([error.status, error.code, error.message]).toEqual([403, "ip_not_allowed", "client address 203.0.113.9 is not in [api] allow_ips"]);
    expect(gate.admit(request(`Bearer ${KEY}`), "10.1.2.3").name).toBe("ops");
  });

  test("a missing or wrong key is 401 with WWW-Authenticate", () => {
    const gate = adminGate({ apiKeys: keys, apiAllowIps: ipSetOf([]) });
    for (const auth of [undefined, "Bearer nope", KEY]) {
      const error = thrown(() => gate.admit(request(auth), "127.0.0.1"));
      expect([error.status, error.code, error.headers["www-authenticate"]]).toEqual([401, "unauthorized", 'Bearer realm="hookd"']);
      expect(error.message).toBe("missing or invalid API key: send Authorization: Bearer <key>");
    }
  });

  test("with no keys configured the 401 says the admin API is closed", () => {
    const gate = adminGate({ apiKeys: new ApiKeyVerifier([]), apiAllowIps: ipSetOf([]) });
    expect(thrown(() => gate.admit(request(`Bearer ${KEY}`), "127.0.0.1")).message).toContain("the admin API is closed");
  });
});

describe("jsonGate", () => {
  const bytes = (text: string) => new TextEncoder().encode(text);

  test.each([
    ["{", 400, "invalid_json"],
    ["[1]", 422, "invalid_request"],
    ["null", 422, "invalid_request"],
    ['"text"', 422, "invalid_request"],
  ])("%s → %d %s", (body, status, code) => {
    const error = thrown(() => assertJson(bytes(body)));
    expect([error.status, String(error.code)]).toEqual([status, code]);
  });

  test("bytes that are not UTF-8 are invalid_json", () => {
    expect(thrown(() => assertJson(new Uint8Array([0x7b, 0xff, 0x7d]))).code).toBe("invalid_json");
  });

  test("an object 128 levels deep passes; 129 does not", () => {
    expect(() => assertJson(bytes(`${'{"a":'.repeat(127)}{}${"}".repeat(127)}`))).not.toThrow();
    expect(thrown(() => assertJson(bytes(`${'{"a":'.repeat(128)}{}${"}".repeat(128)}`))).details[0]?.code).toBe("too_deep");
  });

  test("a body becomes application/json whatever it was sent as; an empty one loses its Content-Type", () => {
    const headers = new Headers({ "content-type": "application/x-www-form-urlencoded" });
    jsonGate(bytes('{"a":1}'), headers);
    expect(headers.get("content-type")).toBe("application/json");
    jsonGate(new Uint8Array(0), headers);
    expect(headers.has("content-type")).toBe(false);
  });
});

describe("jsonDepth", () => {
  test.each([
    ["{}", 1],
    ['{"a":[{"b":[]}]}', 4],
    ['{"a":"[[[{{{"}', 1],
    ['{"a":"\\"[[["}', 1],
    ["1", 0],
  ])("%s → %d", (text, depth) => {
    expect(jsonDepth(text)).toBe(depth);
  });
});

describe("idempotencyScope", () => {
  test.each([
    ["ops", "/v1/events", "ops POST /v1/events"],
    ["ops", "/v1/events/", "ops POST /v1/events"],
    ["ci", "/v1/webhooks//", "ci POST /v1/webhooks"],
  ])("%s %s → %s", (key, path, scope) => {
    expect(idempotencyScope(key, path)).toBe(scope);
  });
});

describe("isServerFault", () => {
  // An error log line per shed request would let anyone flood the journal (issue 14).
  test.each([
    ["internal_error", true],
    ["storage_unavailable", true],
    ["server_busy", false],
    ["request_timeout", false],
    ["unauthorized", false],
  ] as const)("%s → %p", (code, fault) => {
    expect(isServerFault(new ApiError(code, "x"))).toBe(fault);
  });
});

describe("front handler with a reloaded config", () => {
  const OTHER = "k-fedcba9876543210";
  const config = (key: string, maxEndpoints: number) =>
    loadConfig(`[api]\nkeys = [{ name = "k", hash = "${hashApiKey(key)}" }]\n[delivery]\nmax_endpoints = ${maxEndpoints}\n`, {});

  test("a request keeps the settings it started with; the next one gets the new keys and limits", async () => {
    const live = new LiveConfig(config(KEY, 10));
    let release = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    // A route that reads the request's snapshot before and after waiting, as a route reading deps.maxEndpoints twice would.
    const route = new Elysia().get("/v1/probe", async () => {
      const first = live.snapshot().config.delivery.max_endpoints;
      await held;
      return { first, second: live.snapshot().config.delivery.max_endpoints };
    });
    const http = buildHttp({
      idempotency: {} as IdempotencyStore,
      clock: systemClock,
      log: silentLogger,
      version: "test",
      live,
      maxBody: 1024,
      maxInflightBody: 4096,
      routes: [route],
      inbound: () => Promise.reject(new Error("no inbound here")),
      scopeRefusal: () => null,
    });
    const get = (key: string) => http.handle(new Request("http://hookd.test/v1/probe", { headers: { authorization: `Bearer ${key}` } }), "127.0.0.1");
    const inFlight = get(KEY);
    live.swap(config(OTHER, 20));
    release();
    expect(await (await inFlight).json()).toEqual({ first: 10, second: 10 });
    expect((await get(KEY)).status).toBe(401);
    expect(await (await get(OTHER)).json()).toEqual({ first: 20, second: 20 });
  });
});
