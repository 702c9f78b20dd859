import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { apiRoutes } from "../../src/api/index";
import { ROUTE_SCOPES, routeKey, scopeRefusal, scopesNeeded } from "../../src/api/route-scopes";
import type { Scope } from "../../src/security/scopes";
import { call, startTestServer, type TestServer } from "../support/test-server";

/** specRule is SPEC §14 in words, kept apart from the table so the two check each other: the scopes that open a route. */
function specRule(method: string, path: string): Scope[] {
  const scopes: Scope[] = [];
  if (method === "GET" && path !== "/v1/audit" && !path.startsWith("/v1/audit/")) scopes.push("read");
  if (path === "/v1/resources" || path.startsWith("/v1/resources/") || (method === "POST" && path === "/v1/events")) scopes.push("publish");
  return scopes.length === 0 ? ["admin"] : scopes;
}

// Route factories only capture their deps; this stands in for any of them while the routes are listed.
const anything: any = new Proxy(() => anything, { get: (_, key) => (key === Symbol.toPrimitive ? () => "" : anything), apply: () => anything });

describe("scopesNeeded", () => {
  test.each([
    ["GET", "/v1/webhooks", ["read"]],
    ["HEAD", "/v1/webhooks/:id", ["read"]],
    ["GET", "/v1/resources/:id", ["read", "publish"]],
    ["DELETE", "/v1/resources/:id", ["publish"]],
    ["POST", "/v1/events", ["publish"]],
    ["POST", "/v1/webhooks", ["admin"]],
    ["GET", "/v1/audit", ["admin"]],
    ["POST", "/v1/webhooks/:id/preview", ["admin"]],
    ["GET", "/v1/not-declared", ["admin"]],
    ["OPTIONS", "/v1/webhooks", ["admin"]],
  ])("%s %s is opened by %j", (method, pattern, scopes) => {
    expect(scopesNeeded(method, pattern)).toEqual(scopes as Scope[]);
  });
});

describe("scopeRefusal", () => {
  test("a key holding the needed scope, or admin, passes", () => {
    expect(scopeRefusal(["read"], "GET", "/v1/webhooks")).toBeNull();
    expect(scopeRefusal(["admin"], "DELETE", "/v1/webhooks/:id")).toBeNull();
    expect(scopeRefusal(["read", "publish"], "POST", "/v1/events")).toBeNull();
    expect(scopeRefusal(["read"], "GET", "/v1/resources")).toBeNull();
    expect(scopeRefusal(["publish"], "GET", "/v1/resources")).toBeNull();
  });

  test("a key without it gets 403 insufficient_scope naming its scopes, the route and the scope needed", () => {
    const refusal = scopeRefusal(["publish"], "GET", "/v1/webhooks")!;
    expect([refusal.status, refusal.code, refusal.message]).toEqual([
      403,
      "insufficient_scope",
      'this key (publish) cannot use GET /v1/webhooks: it needs the "read" scope',
    ]);
    expect(refusal.details).toEqual([
      { field: "header.Authorization", code: "insufficient_scope", message: 'use a key with "read" or "admin" in its [api] keys scopes' },
    ]);
    expect(scopeRefusal(["read", "publish"], "PATCH", "/v1/webhooks/:id")!.message).toBe(
      'this key (read, publish) cannot use PATCH /v1/webhooks/:id: it needs the "admin" scope',
    );
  });

  test("a route either scope opens names both", () => {
    expect(scopeRefusal([], "GET", "/v1/resources")!.message).toBe('this key (no scopes) cannot use GET /v1/resources: it needs the "read" or "publish" scope');
  });

  test("a route missing from the table is refused to every key but an admin one (fail closed)", () => {
    expect(scopeRefusal(["read", "publish"], "GET", "/v1/brand-new")!.message).toContain('needs the "admin" scope');
    expect(scopeRefusal(["admin"], "GET", "/v1/brand-new")).toBeNull();
  });
});

describe("ROUTE_SCOPES", () => {
  let server: TestServer;
  const served = new Set<string>();

  beforeAll(async () => {
    // The router's own table: every route mounted by apiRoutes, documented or not.
    for (const route of apiRoutes(anything).routes) {
      if (route.path.startsWith("/v1")) served.add(routeKey(route.method, route.path));
    }
    // And what a running hookd documents, in case a route group is ever mounted outside apiRoutes.
    server = await startTestServer();
    const spec = (await call(`${server.url}/openapi.json`, "GET")).body;
    for (const [path, ops] of Object.entries(spec.paths as Record<string, Record<string, unknown>>)) {
      if (!path.startsWith("/v1")) continue;
      for (const method of Object.keys(ops)) served.add(routeKey(method.toUpperCase(), path.replace(/\{(\w+)\}/g, ":$1")));
    }
  });
  afterAll(() => server.stop());

  test("declares a scope for every /v1 route the app serves", () => {
    expect(served.size).toBeGreaterThan(20);
    expect([...served].filter((route) => !(route in ROUTE_SCOPES)).sort()).toEqual([]);
  });

  test("declares no route the app does not serve", () => {
    expect(Object.keys(ROUTE_SCOPES).filter((route) => !served.has(route)).sort()).toEqual([]);
  });

  test("gives each route the scope SPEC §14 says", () => {
    const wrong = Object.entries(ROUTE_SCOPES)
      .filter(([route, scope]) => {
        const [method, path] = route.split(" ") as [string, string];
        return JSON.stringify(specRule(method, path)) !== JSON.stringify(scope);
      })
      .map(([route, scope]) => `${route}: ${scope}`);
    expect(wrong).toEqual([]);
  });
});
