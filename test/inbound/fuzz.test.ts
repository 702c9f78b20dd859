import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rng } from "../fuzz/kit";
import { rawRequest } from "../support/raw-http";
import { call, startTestServer, type TestServer } from "../support/test-server";

// A few thousand malformed requests from a seeded generator (a failure names its seed and index).
const SEED = Number(process.env.FUZZ_SEED ?? 20261123);
const COUNT = 3000;


const VALID = {
  connector_id: "erp",
  event_type: "integration.failed",
  timestamp: "2026-04-20T03:00:00Z",
  severity: "error",
  message: "x",
};

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({
    server: 'max_body = "8KiB"',
    "[[sources]] # token": 'id = "erp"\nauth = "token"\nsecret = "erp-token-123"',
    "[[sources]] # hmac": 'id = "h"\nauth = "hmac"\nsecret = "hmac-secret"',
  });
});
afterAll(() => server.stop());

interface Case {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
}

function makeCase(random: () => number): Case {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const valid = JSON.stringify(VALID);
  const badBodies = [
    () => valid.slice(0, Math.floor(random() * (valid.length - 1))), // every proper prefix of an object is broken JSON
    () => JSON.stringify({ ...VALID, event_type: pick([5, null, [], "nodot", "a..b", "x".repeat(200), "a.b\r\nX: 1"]) }),
    () => JSON.stringify({ ...VALID, timestamp: pick(["yesterday", 0, "2026-02-30T00:00:00Z", "2026-04-20T03:00:00", []]) }),
    () => JSON.stringify({ ...VALID, severity: pick(["fatal", 1, null]), metadata: pick([[1], "m", 3]) }),
    () => JSON.stringify({ ...VALID, connector_id: pick(["other", 7, ""]) }),
    () => pick(["", " ", "null", "[]", "42", '"str"', "{}", "\u0000", "\ufeff{}", "{\"a\":}"]),
    () => `${"[".repeat(5000)}${"]".repeat(5000)}`,
    () => "x".repeat(9000 + Math.floor(random() * 5000)),
    () => Array.from({ length: 64 }, () => String.fromCharCode(Math.floor(random() * 0xffff))).join(""),
  ];
  const kind = random();
  if (kind < 0.1) return { method: pick(["GET", "PUT", "DELETE", "PATCH", "OPTIONS"]), path: "/in/erp", headers: {}, body: undefined };
  if (kind < 0.2) {
    const path = pick(["/in/", "/in/nope", "/in/erp/extra", "/in/%00", "/in/%E2%82%AC", `/in/${"a".repeat(300)}`, "/in/..%2Fv1"]);
    return { method: "POST", path, headers: { "x-auth-token": "erp-token-123" }, body: valid };
  }
  if (kind < 0.35) {
    // wrong or missing credentials with a perfectly good body
    const headers = pick<Record<string, string>>([{}, { "x-auth-token": "erp-token-12" }, { "x-auth-token": "x".repeat(4000) }, { "x-auth-token": "" }]);
    return { method: "POST", path: "/in/erp", headers, body: valid };
  }
  if (kind < 0.45) {
    const sig = pick(["", "sha256=", "sha256=zz", `sha256=${"0".repeat(64)}`, "sha1=abc", "0".repeat(64)]);
    return { method: "POST", path: "/in/h", headers: { "x-hookd-signature": sig }, body: valid };
  }
  // right credentials, bad body, odd headers
  const headers: Record<string, string> = { "x-auth-token": "erp-token-123" };
  if (random() < 0.3) headers["content-type"] = pick(["text/plain", "application/xml", "multipart/form-data; boundary=x", "application/json; charset=latin1"]);
  if (random() < 0.2) headers["x-hookd-connector-id"] = pick(["", "other", "erp\u00e9"]).replace(/[^\x20-\x7e]/g, "?");
  if (random() < 0.2) headers["x-padding"] = "p".repeat(Math.floor(random() * 6000));
  return { method: "POST", path: "/in/erp", headers, body: pick(badBodies)() };
}

describe("inbound fuzz", () => {
  test(`${COUNT} malformed requests: every answer a 4xx envelope, the process up, nothing stored`, async () => {
    const random = rng(SEED);
    const cases = Array.from({ length: COUNT }, () => makeCase(random));
    const failures: string[] = [];
    const statuses = new Map<number, number>();
    for (let start = 0; start < cases.length; start += 50) {
      await Promise.all(
        cases.slice(start, start + 50).map(async (c, j) => {
          const answer = await call(`${server.url}${c.path}`, c.method, c.body, c.headers);
          statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
          const envelope = answer.body?.error?.code && answer.headers.get("x-request-id");
          if (answer.status < 400 || answer.status >= 500 || !envelope) {
            failures.push(`seed ${SEED} case ${start + j}: ${c.method} ${c.path} → ${answer.status} ${answer.text.slice(0, 120)}`);
          }
        }),
      );
    }
    console.log("statuses:", Object.fromEntries([...statuses].sort()));
    expect(failures).toEqual([]);
    expect((await call(`${server.url}/readyz`, "GET")).status).toBe(200);
    expect((await server.api("GET", "/v1/events")).body.data).toEqual([]);
    expect((await server.api("GET", "/v1/inbound?status=accepted")).body.data).toEqual([]);
    // Rejections are logged, but at most 100 per source per minute.
    const rejected = (await server.api("GET", "/v1/inbound?status=rejected&limit=500")).body.data;
    expect(rejected.length).toBeLessThanOrEqual(200);
  }, 60_000);

  test("non-UTF-8 header bytes and a duplicated token header are refused, not crashed on", async () => {
    const port = Number(new URL(server.url).port);
    const body = JSON.stringify(VALID);
    const heads = [
      `POST /in/erp HTTP/1.1\nHost: 127.0.0.1\nx-auth-token: erp-token-123\nx-auth-token: other\nContent-Length: ${body.length}\nConnection: close`,
      `POST /in/erp HTTP/1.1\nHost: 127.0.0.1\nx-auth-token: \xff\xfe\nContent-Length: ${body.length}\nConnection: close`,
      `POST /in/h HTTP/1.1\nHost: 127.0.0.1\nx-hookd-signature: sha256=\xc3\x28\nContent-Length: ${body.length}\nConnection: close`,
    ];
    for (const head of heads) {
      const answer = await rawRequest(port, head, body);
      expect(answer.status).toBeGreaterThanOrEqual(400);
      expect(answer.status).toBeLessThan(500);
    }
    expect((await call(`${server.url}/healthz`, "GET")).status).toBe(200);
  });
});
