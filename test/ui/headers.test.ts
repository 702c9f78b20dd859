// The dashboard's shell and assets without a browser: headers on every answer, no auth needed, no inline code.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { startTestServer, type TestServer } from "../support/test-server";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.stop());

test.each([
  ["/ui", 200, "text/html"],
  ["/ui/", 200, "text/html"],
  ["/ui/app.js", 200, "text/javascript"],
  ["/ui/endpoint-options.js", 200, "text/javascript"],
  ["/ui/endpoint-routing.js", 200, "text/javascript"],
  ["/ui/charts.js", 200, "text/javascript"],
  ["/ui/uplot.js", 200, "text/javascript"],
  ["/ui/style.css", 200, "text/css"],
  ["/ui/uplot.css", 200, "text/css"],
  ["/ui/missing.js", 404, "text/plain"],
])("GET %s is %d %s with CSP and nosniff, no key needed", async (path, status, type) => {
  const res = await fetch(`${server.url}${path}`);
  expect(res.status).toBe(status);
  expect(res.headers.get("content-type")).toStartWith(type);
  expect(res.headers.get("content-security-policy")).toBe("default-src 'self'");
  expect(res.headers.get("x-content-type-options")).toBe("nosniff");
  expect(res.headers.get("access-control-allow-origin")).toBeNull();
});

// Every browser module of ours (uplot.js is the chart library, served as published).
const OWN_MODULES = [
  "app", "audit-view", "chart-data", "charts", "deliveries-view", "dom", "endpoint-options", "endpoint-routing", "endpoints-view", "events-view",
  "key-scopes", "overview", "paging", "payload", "undelivered",
];

test("GET / redirects to the dashboard", async () => {
  const res = await fetch(`${server.url}/`, { redirect: "manual" });
  expect(res.status).toBe(302);
  expect(res.headers.get("location")).toBe("/ui");
});

test("the shell has no inline script or style, and the module never uses innerHTML", async () => {
  const html = await (await fetch(`${server.url}/ui`)).text();
  expect(html).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>/);
  expect(html).not.toMatch(/<style|style=/);
  const js = await (await fetch(`${server.url}/ui/app.js`)).text();
  expect(js).toContain("textContent");
  expect(js).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write/);
  for (const module of OWN_MODULES) {
    const text = await (await fetch(`${server.url}/ui/${module}.js`)).text();
    expect(text).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write/);
  }
});

test("app.js and every module it imports, transitively, are served from /ui as plain JavaScript", async () => {
  const seen = new Set<string>();
  const queue = ["./app.js"];
  while (queue.length > 0) {
    const path = queue.shift()!;
    if (seen.has(path)) continue;
    seen.add(path);
    const res = await fetch(new URL(path, `${server.url}/ui/app.js`));
    expect(res.status).toBe(200);
    const js = await res.text();
    expect(js).not.toContain("interface ");
    for (const m of js.matchAll(/from\s*"(\.\/[^"]+)"/g)) queue.push(m[1]!);
  }
  expect([...seen].sort()).toEqual([...OWN_MODULES.map((m) => `./${m}.js`), "./uplot.js"].sort());
});

test("/v1 still needs a key, and sends no CORS headers", async () => {
  const res = await fetch(`${server.url}/v1/stats`, { headers: { origin: "https://evil.example" } });
  expect(res.status).toBe(401);
  expect(res.headers.get("access-control-allow-origin")).toBeNull();
});
