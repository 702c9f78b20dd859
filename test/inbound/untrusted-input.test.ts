// SPEC §13 limits on what an unauthenticated or unknown caller can make hookd keep, and the one info
// line per inbound request (issue 14): stored rejection headers, browser posts to auth = "none"
// sources, JSON depth, log volume.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHmac } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type RunningApp, startApp } from "../../src/app";
import { loadConfig } from "../../src/config/load";
import { STORED_HEADER_BYTES } from "../../src/inbound/headers";
import { createLogger } from "../../src/log";
import { hashApiKey } from "../../src/security/api-keys";
import { rawRequest } from "../support/raw-http";
import { call } from "../support/test-server";

type Line = { level: string; msg: string; request_id?: string } & Record<string, unknown>;
const lines: Line[] = [];
const key = `test-key-${crypto.randomUUID()}`;
const SECRET = "untrusted-input-secret";
let dir: string;
let app: RunningApp;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "hookd-untrusted-"));
  const config = loadConfig(
    [
      `[storage]\npath = ${JSON.stringify(join(dir, "hookd.db"))}`,
      `[api]\nkeys = [{ name = "test", hash = "${hashApiKey(key)}" }]`,
      `[server]\nmax_body = "64KiB"`,
      `[[sources]]\nid = "signed"\nauth = "hmac"\nsecret = "${SECRET}"\nschema = "json"\nevent_type = "deep.test"`,
      `[[sources]]\nid = "locked"\nauth = "hmac"\nsecret = "${SECRET}"\nallow_ips = ["127.0.0.1/32"]`,
      `[[sources]]\nid = "lab"\nauth = "none"\nallow_ips = ["127.0.0.0/8"]\nallow_origins = ["https://erp.example", "http://10.0.0.5:8080"]`,
      `[[sources]]\nid = "lab-closed"\nauth = "none"\nallow_ips = ["127.0.0.0/8"]`,
    ].join("\n\n"),
    {},
  );
  app = await startApp({ config, log: createLogger("debug", (line) => lines.push(JSON.parse(line) as Line)), listen: { host: "127.0.0.1", port: 0 } });
});
afterAll(async () => {
  await app.stop();
  rmSync(dir, { recursive: true, force: true });
});

const api = (path: string) => call(`${app.url}${path}`, "GET", undefined, { authorization: `Bearer ${key}` });
const sign = (body: string) => `sha256=${createHmac("sha256", SECRET).update(body).digest("hex")}`;
const erp = (connector: string, message = "m") =>
  JSON.stringify({ connector_id: connector, event_type: "scanner.jammed", timestamp: "2026-04-20T03:00:00Z", message });
const send = (source: string, body: string, headers: Record<string, string> = {}) => call(`${app.url}/in/${source}`, "POST", body, headers);
const rejectedRows = async (source: string) => (await api(`/v1/inbound?source=${source}&status=rejected&limit=500`)).body.data as { reason: string; headers: Record<string, string> }[];
const eventCount = async () => (await api("/v1/events?limit=500")).body.data.length;
const headerBytes = (h: Record<string, string>) => Object.entries(h).reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v), 0);
const nested = (depth: number) => `{"type":"x","v":${"[".repeat(depth - 1)}${"]".repeat(depth - 1)}}`;

describe("headers stored with rejections (SPEC §13)", () => {
  test("six caller-chosen headers of 512+ characters are kept to 2 KiB in all", async () => {
    const long = (c: string) => c.repeat(600);
    const answer = await send("signed", '{"type":"x"}', {
      "content-type": `application/json; x=${long("a")}`,
      "user-agent": long("b"),
      "x-hookd-connector-id": long("c"),
      "idempotency-key": long("d"),
      "webhook-id": long("e"),
      "webhook-timestamp": long("f"),
      "x-hookd-signature": "sha256=" + "0".repeat(64),
    });
    expect(answer.status).toBe(401);
    const row = (await rejectedRows("signed")).find((r) => r.reason === "invalid_signature")!;
    expect(row).toBeDefined();
    expect(headerBytes(row.headers)).toBeLessThanOrEqual(STORED_HEADER_BYTES);
    expect(headerBytes(row.headers)).toBeGreaterThan(STORED_HEADER_BYTES - 100);
    expect(row.headers["user-agent"]).toMatch(/^b+$/);
  });

  test("a rejection before authentication stores no headers: ip_not_allowed, payload_too_large", async () => {
    const body = erp("locked");
    const head = `POST /in/locked HTTP/1.1\nHost: 127.0.0.1\nUser-Agent: ${"u".repeat(500)}\nIdempotency-Key: k-${"i".repeat(500)}\nContent-Length: ${Buffer.byteLength(body)}\nConnection: close`;
    const refused = await rawRequest(Number(new URL(app.url).port), head, body, "127.0.0.2");
    expect(refused.status).toBe(403);
    const tooBig = await send("signed", `{"type":"x","pad":"${"p".repeat(70_000)}"}`, { "user-agent": "big-sender" });
    expect(tooBig.status).toBe(413);
    const ipRow = (await rejectedRows("locked")).find((r) => r.reason === "ip_not_allowed")!;
    expect(ipRow.headers).toEqual({});
    const sizeRow = (await rejectedRows("signed")).find((r) => r.reason === "payload_too_large")!;
    expect(sizeRow.headers).toEqual({});
  });
});

describe('auth = "none" and browser posts (SPEC §13 allow_origins)', () => {
  const body = erp("lab");
  test.each([
    ["an Origin not in allow_origins", { origin: "https://evil.example" }],
    ["an Origin that differs only by port", { origin: "https://erp.example:8443" }],
    ['the opaque Origin "null" (sandboxed frame, file://)', { origin: "null" }],
    ["a foreign Origin even when Sec-Fetch-Site says same-origin", { origin: "https://evil.example", "sec-fetch-site": "same-origin" }],
    ["no Origin, Sec-Fetch-Site: cross-site", { "sec-fetch-site": "cross-site" }],
    ["no Origin, Sec-Fetch-Site: same-site", { "sec-fetch-site": "same-site" }],
  ])("%s → 403 cross_site_request, nothing stored", async (_name, headers) => {
    const before = await eventCount();
    const answer = await send("lab", body, headers as Record<string, string>);
    expect(answer.status).toBe(403);
    expect(answer.body.error.code).toBe("cross_site_request");
    expect(await eventCount()).toBe(before);
  });

  test.each([
    ["no Origin and no Sec-Fetch-Site (curl, a job, a middleware)", {}],
    ["an allowed Origin, whatever Sec-Fetch-Site says", { origin: "https://erp.example", "sec-fetch-site": "cross-site" }],
    ["another allowed Origin with a port", { origin: "http://10.0.0.5:8080" }],
    ["no Origin, Sec-Fetch-Site: same-origin", { "sec-fetch-site": "same-origin" }],
    ["no Origin, Sec-Fetch-Site: none (typed into the address bar)", { "sec-fetch-site": "none" }],
  ])("%s → 200", async (_name, headers) => {
    const answer = await send("lab", erp("lab", JSON.stringify(headers)), headers as Record<string, string>);
    expect(answer.status).toBe(200);
  });

  test("a source without allow_origins refuses every browser Origin, and the refusal is logged without headers", async () => {
    const answer = await send("lab-closed", erp("lab-closed"), { origin: "https://erp.example", "user-agent": "Mozilla/5.0" });
    expect(answer.status).toBe(403);
    expect(answer.body.error.code).toBe("cross_site_request");
    const row = (await rejectedRows("lab-closed")).find((r) => r.reason === "cross_site_request")!;
    expect(row.headers).toEqual({});
    expect((await send("lab-closed", erp("lab-closed", "no browser"))).status).toBe(200);
  });
});

describe("JSON depth (SPEC §13)", () => {
  test("128 levels are accepted", async () => {
    const body = nested(128);
    const answer = await send("signed", body, { "x-hookd-signature": sign(body) });
    expect(answer.status).toBe(200);
  });

  test.each([129, 32_000])("%d levels → 422 invalid_body (too_deep), nothing stored", async (depth) => {
    const body = nested(depth);
    const before = await eventCount();
    const answer = await send("signed", body, { "x-hookd-signature": sign(body) });
    expect(await eventCount()).toBe(before);
    expect(answer.status).toBe(422);
    expect(answer.body.error.code).toBe("invalid_body");
    expect(answer.body.error.details).toEqual([{ field: "body", code: "too_deep", message: "JSON nesting is limited to 128 levels" }]);
  });

  test("depth counts brackets outside strings only", async () => {
    const body = `{"type":"x","text":"${"[{".repeat(200)}"}`;
    expect((await send("signed", body, { "x-hookd-signature": sign(body) })).status).toBe(200);
  });
});

describe("log volume: at most one info line per inbound request", () => {
  test.each([
    ["accepted", () => erp("lab", `log ${crypto.randomUUID()}`), {}, 200],
    ["duplicate", () => erp("lab", "log duplicate"), { "idempotency-key": "log-dup" }, 200],
    ["rejected", () => '{"not":', {}, 422],
  ])("%s", async (_name, makeBody, headers, status) => {
    if (_name === "duplicate") await send("lab", makeBody(), headers);
    const requestId = `log-${crypto.randomUUID()}`;
    const answer = await send("lab", makeBody(), { ...headers, "x-request-id": requestId });
    expect(answer.status).toBe(status);
    const mine = lines.filter((l) => l.request_id === requestId);
    expect(mine.filter((l) => l.level === "info").map((l) => l.msg)).toEqual(["request"]);
    // The receiver's own line (ids for tracing) is still there, below info, or at warn for a rejection.
    expect(mine.some((l) => l.msg.startsWith("inbound ") && l.level === (status === 200 ? "debug" : "warn"))).toBe(true);
  });
});
