import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type RunningApp, startApp } from "../../src/app";
import { loadConfig } from "../../src/config/load";
import { silentLogger } from "../../src/log";
import { hashApiKey } from "../../src/security/api-keys";
import { grants, type Scope } from "../../src/security/scopes";
import { type ApiAnswer, call } from "../support/test-server";

// SPEC §14 against a running hookd, one key per scope set. The rule is restated here in words, apart
// from src/api/route-scopes.ts, and every route the OpenAPI document lists is walked with every key.

const KEYS: Record<string, readonly Scope[] | null> = {
  admin: ["admin"],
  read: ["read"],
  publish: ["publish"],
  "read-publish": ["read", "publish"],
  // No `scopes` at all: the default, admin.
  legacy: null,
  // An admin key whose scopes a reload narrows (the Idempotency-Key test at the end).
  narrowed: ["admin"],
};
const secret = (name: string) => `scopes-test-key-${name}-0123456789`;

/** specRule: the scopes that open a route (admin opens all of them). */
function specRule(method: string, path: string): Scope[] {
  const scopes: Scope[] = [];
  if (method === "GET" && !path.startsWith("/v1/audit")) scopes.push("read");
  if (path === "/v1/resources" || path.startsWith("/v1/resources/") || (method === "POST" && path === "/v1/events")) scopes.push("publish");
  return scopes.length === 0 ? ["admin"] : scopes;
}

// Plausible ids by the collection they name; a made-up id answers 404 (or 422), which counts as allowed.
const ID_PREFIX: Record<string, string> = { webhooks: "wh", events: "evt", resources: "res", deliveries: "dlv", inbound: "in", audit: "aud" };
function concrete(path: string): string {
  return path.replace(/\/([a-z-]+)\/\{(\w+)\}/g, (_, collection: string) => `/${collection}/${ID_PREFIX[collection] ?? "wh"}_0000000000000000000000000z`);
}

let dir: string;
let app: RunningApp;
let routes: [string, string][] = [];

function as(name: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiAnswer> {
  return call(`${app.url}${path}`, method, body, { authorization: `Bearer ${secret(name)}`, ...headers });
}

function configWith(keys: Record<string, readonly Scope[] | null>) {
  const entries = Object.entries(keys).map(([name, scopes]) => {
    const listed = scopes === null ? "" : `, scopes = ${JSON.stringify(scopes)}`;
    return `  { name = "${name}", hash = "${hashApiKey(secret(name))}"${listed} },`;
  });
  const toml = `[storage]\npath = ${JSON.stringify(join(dir, "hookd.db"))}\n\n[api]\nkeys = [\n${entries.join("\n")}\n]\n\n[delivery]\nrequire_https = false\n`;
  return loadConfig(toml, {});
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "hookd-scopes-"));
  app = await startApp({ config: configWith(KEYS), log: silentLogger, listen: { host: "127.0.0.1", port: 0 } });
  const spec = (await call(`${app.url}/openapi.json`, "GET")).body;
  for (const [path, ops] of Object.entries(spec.paths as Record<string, Record<string, unknown>>)) {
    if (!path.startsWith("/v1")) continue;
    for (const method of Object.keys(ops)) routes.push([method.toUpperCase(), path]);
  }
});
afterAll(async () => {
  await app.stop();
  rmSync(dir, { recursive: true, force: true });
});

const isScopeRefusal = (a: ApiAnswer) => a.status === 403 && a.body?.error?.code === "insufficient_scope";

describe("a publish key", () => {
  test("can publish an event (202)", async () => {
    const answer = await as("publish", "POST", "/v1/events", { type: "order.created", data: { n: 1 } });
    expect(answer.status).toBe(202);
    expect(answer.headers.get("x-hookd-key-scopes")).toBe("publish");
  });

  test("can create and read resources", async () => {
    const made = await as("publish", "POST", "/v1/resources", { name: "by-publisher" });
    expect(made.status).toBe(201);
    expect((await as("publish", "GET", `/v1/resources/${made.body.data.id}`)).status).toBe(200);
  });

  test("gets 403 insufficient_scope creating an endpoint, naming the admin scope", async () => {
    const answer = await as("publish", "POST", "/v1/webhooks", { url: "https://x.example/", events: ["*"] });
    expect(answer.status).toBe(403);
    expect(answer.body.error).toEqual({
      code: "insufficient_scope",
      message: 'this key (publish) cannot use POST /v1/webhooks: it needs the "admin" scope',
      request_id: answer.headers.get("x-request-id"),
      details: [{ field: "header.Authorization", code: "insufficient_scope", message: 'use a key with "admin" in its [api] keys scopes' }],
    });
    expect(answer.headers.get("x-hookd-key-scopes")).toBe("publish");
  });

  test("gets 403 insufficient_scope listing endpoints, naming the read scope", async () => {
    const answer = await as("publish", "GET", "/v1/webhooks");
    expect(answer.status).toBe(403);
    expect(answer.body.error.message).toBe('this key (publish) cannot use GET /v1/webhooks: it needs the "read" scope');
  });

  test("is refused before the body is validated: an invalid body still gets 403, not 422", async () => {
    const answer = await as("publish", "POST", "/v1/webhooks", { nonsense: true });
    expect(isScopeRefusal(answer)).toBe(true);
  });

  test("HEAD needs what GET needs", async () => {
    expect((await as("publish", "HEAD", "/v1/webhooks")).status).toBe(403);
    expect((await as("read", "HEAD", "/v1/webhooks")).status).toBe(200);
  });
});

describe("a read key", () => {
  test("gets every GET it is meant to (no 403) and 403 on every write", async () => {
    expect(routes.length).toBeGreaterThan(20);
    for (const [method, path] of routes) {
      const answer = await as("read", method, concrete(path), method === "GET" || method === "DELETE" ? undefined : {});
      const refused = isScopeRefusal(answer);
      expect({ route: `${method} ${path}`, refused }).toEqual({ route: `${method} ${path}`, refused: method !== "GET" || path.startsWith("/v1/audit") });
    }
  });
});

describe("every /v1 route in /openapi.json, with every kind of key", () => {
  test.each(Object.keys(KEYS))("the %s key is refused exactly where SPEC §14 says", async (name) => {
    const held = KEYS[name] ?? ["admin"];
    const wrong: string[] = [];
    for (const [method, path] of routes) {
      const answer = await as(name, method, concrete(path), method === "GET" || method === "DELETE" ? undefined : {});
      const expectRefused = !specRule(method, path).some((scope) => grants(held, scope));
      if (isScopeRefusal(answer) !== expectRefused) wrong.push(`${method} ${path}: ${answer.status} ${answer.body?.error?.code ?? ""}`);
      if (answer.status === 403 && !isScopeRefusal(answer)) wrong.push(`${method} ${path}: 403 ${answer.body?.error?.code}`);
      if (answer.headers.get("x-hookd-key-scopes") !== held.join(",")) wrong.push(`${method} ${path}: X-Hookd-Key-Scopes ${answer.headers.get("x-hookd-key-scopes")}`);
    }
    expect(wrong).toEqual([]);
  });
});

describe("X-Hookd-Key-Scopes", () => {
  test("is on errors the front handler answers before routing (invalid JSON, 404, 405)", async () => {
    const badJson = await as("read-publish", "POST", "/v1/events", "{not json");
    expect(badJson.status).toBe(400);
    expect(badJson.headers.get("x-hookd-key-scopes")).toBe("read,publish");
    const missing = await as("read", "GET", "/v1/nothing-here");
    expect(missing.status).toBe(404);
    expect(missing.headers.get("x-hookd-key-scopes")).toBe("read");
    const method = await as("admin", "PUT", "/v1/webhooks", {});
    expect(method.status).toBe(405);
    expect(method.headers.get("x-hookd-key-scopes")).toBe("admin");
  });

  test("is not sent without a valid key, nor outside /v1", async () => {
    expect((await call(`${app.url}/v1/stats`, "GET")).headers.get("x-hookd-key-scopes")).toBeNull();
    expect((await call(`${app.url}/v1/stats`, "GET", undefined, { authorization: "Bearer wrong-key-0123456789" })).headers.get("x-hookd-key-scopes")).toBeNull();
    expect((await call(`${app.url}/healthz`, "GET", undefined, { authorization: `Bearer ${secret("admin")}` })).headers.get("x-hookd-key-scopes")).toBeNull();
  });
});

describe("Idempotency-Key and scopes", () => {
  test("a 403 insufficient_scope is not stored as the key's answer: the retry runs again, and the same key works once allowed", async () => {
    const body = { url: "https://idem-scope.example/", events: ["*"] };
    const refused = await as("publish", "POST", "/v1/webhooks", body, { "idempotency-key": "scope-idem-1" });
    expect(isScopeRefusal(refused)).toBe(true);
    const again = await as("publish", "POST", "/v1/webhooks", body, { "idempotency-key": "scope-idem-1" });
    expect(isScopeRefusal(again)).toBe(true);
    expect(again.headers.get("idempotent-replayed")).toBeNull();
    const allowed = await as("admin", "POST", "/v1/webhooks", body, { "idempotency-key": "scope-idem-1" });
    expect(allowed.status).toBe(201);
    const replayed = await as("admin", "POST", "/v1/webhooks", body, { "idempotency-key": "scope-idem-1" });
    expect(replayed.headers.get("idempotent-replayed")).toBe("true");
    expect(replayed.headers.get("x-hookd-key-scopes")).toBe("admin");
  });

  test("a key whose scopes a reload narrowed gets no stored answer back: the route refuses it afresh", async () => {
    const body = { url: "https://idem-narrow.example/", events: ["*"] };
    const created = await as("narrowed", "POST", "/v1/webhooks", body, { "idempotency-key": "scope-idem-2" });
    expect(created.status).toBe(201);
    expect(typeof created.body.data.secret).toBe("string");
    expect(await app.reload(() => configWith({ ...KEYS, narrowed: ["publish"] }))).toBe("ok");
    try {
      const replay = await as("narrowed", "POST", "/v1/webhooks", body, { "idempotency-key": "scope-idem-2" });
      expect(isScopeRefusal(replay)).toBe(true);
      expect(replay.headers.get("idempotent-replayed")).toBeNull();
      expect(JSON.stringify(replay.body)).not.toContain(created.body.data.secret);
    } finally {
      expect(await app.reload(() => configWith(KEYS))).toBe("ok");
    }
    // Allowed again, the stored answer replays as before.
    const replayed = await as("narrowed", "POST", "/v1/webhooks", body, { "idempotency-key": "scope-idem-2" });
    expect([replayed.status, replayed.headers.get("idempotent-replayed")]).toEqual([201, "true"]);
  });
});

describe("the scope check comes before the body", () => {
  test("a read key posting more than max_body to an admin route gets 403 insufficient_scope, not 413", async () => {
    const big = JSON.stringify({ url: "https://big.example/", events: ["*"], description: "x".repeat(2 * 1024 * 1024) });
    const answer = await call(`${app.url}/v1/webhooks`, "POST", big, { authorization: `Bearer ${secret("read")}` });
    expect(isScopeRefusal(answer)).toBe(true);
  });
});
