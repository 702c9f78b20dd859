import { Database } from "bun:sqlite";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash, createHmac } from "node:crypto";
import { join } from "node:path";
import { standardSignature } from "../../src/delivery/sign";
import { rawRequest } from "../support/raw-http";
import { call, startTestServer, type TestServer } from "../support/test-server";

const SW_SECRET = `whsec_${Buffer.alloc(32, 9).toString("base64")}`;
const SOURCES: Record<string, string> = {
  server: 'max_body = "4KiB"',
  "[[sources]] # hmac": 'id = "psft-payroll"\nauth = "hmac"\nsecret = "psft-secret-123"',
  "[[sources]] # token": 'id = "monitor"\nauth = "token"\nsecret = "tok-abc-123"\nconnector_id = "mon-7"',
  "[[sources]] # standard webhooks": `id = "sw"\nauth = "standard-webhooks"\nsecret = "${SW_SECRET}"`,
  "[[sources]] # allowlisted": 'id = "locked"\nauth = "token"\nsecret = "tok-locked-1"\nallow_ips = ["127.0.0.1/32"]',
  "[[sources]] # json by field": 'id = "jobs"\nauth = "token"\nsecret = "tok-jobs-1"\nschema = "json"\nevent_type_field = "kind"',
  "[[sources]] # limited": 'id = "limited"\nauth = "token"\nsecret = "tok-lim-1"\nrate_limit = "2/1h"',
};

let server: TestServer;
const port = () => Number(new URL(server.url).port);

beforeAll(async () => {
  server = await startTestServer(SOURCES, { busyTimeoutMs: 100 });
});
afterAll(() => server.stop());

const erp = (over: Record<string, unknown> = {}) =>
  JSON.stringify({
    connector_id: "psft-payroll",
    event_type: "integration.failed",
    timestamp: "2026-04-20T03:00:00Z",
    severity: "error",
    source: "PSFT_PAYROLL_BATCH",
    message: "Exit code 1 at record 18441",
    ...over,
  });
const sign = (body: string, secret = "psft-secret-123") => `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
const send = (source: string, body: string, headers: Record<string, string> = {}) =>
  call(`${server.url}/in/${source}`, "POST", body, { "content-type": "application/x-www-form-urlencoded", ...headers });
const eventCount = async () => (await server.api("GET", "/v1/events?limit=500")).body.data.length;

describe("POST /in/:source — the SPEC §7 checks in order", () => {
  test("a signed erp-event is 200 {received, id} and stored as an event of its type with data as sent", async () => {
    const body = erp({ metadata: { records_processed: 18441, big: 12345678901234567890 } });
    const answer = await send("psft-payroll", body, { "x-hookd-signature": sign(body), "x-hookd-connector-id": "psft-payroll" });
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ received: true, id: expect.stringMatching(/^evt_/) });
    const event = await server.api("GET", `/v1/events/${answer.body.id}`);
    expect(event.body.data.type).toBe("integration.failed");
    expect(event.body.data.origin).toBe("inbound");
    expect(event.text).toContain(`"data":${body}`);
  });

  test("unknown source → 404 unknown_source, nothing stored", async () => {
    const before = (await server.api("GET", "/v1/inbound?limit=500")).body.data.length;
    const answer = await send("nope", erp());
    expect(answer.status).toBe(404);
    expect(answer.body.error.code).toBe("unknown_source");
    expect((await server.api("GET", "/v1/inbound?limit=500")).body.data.length).toBe(before);
  });

  test("client address outside allow_ips → 403 ip_not_allowed; a spoofed X-Forwarded-For does not help", async () => {
    const body = erp({ connector_id: "locked" });
    const head = (extra = "") =>
      `POST /in/locked HTTP/1.1\nHost: 127.0.0.1\nx-auth-token: tok-locked-1\nContent-Length: ${Buffer.byteLength(body)}\nConnection: close${extra}`;
    const fromOther = await rawRequest(port(), head(), body, "127.0.0.2");
    expect(fromOther.status).toBe(403);
    expect(JSON.parse(fromOther.body).error.code).toBe("ip_not_allowed");
    const spoofed = await rawRequest(port(), head("\nX-Forwarded-For: 127.0.0.1"), body, "127.0.0.2");
    expect(spoofed.status).toBe(403);
    const fromAllowed = await rawRequest(port(), head(), body, "127.0.0.1");
    expect(fromAllowed.status).toBe(200);
  });

  test("body over max_body → 413 payload_too_large", async () => {
    const body = erp({ message: "x".repeat(5000) });
    const answer = await send("psft-payroll", body, { "x-hookd-signature": sign(body) });
    expect(answer.status).toBe(413);
    expect(answer.body.error.code).toBe("payload_too_large");
  });

  test.each([
    ["wrong HMAC", "psft-payroll", { "x-hookd-signature": "sha256=" + "0".repeat(64) }, "invalid_signature"],
    ["missing HMAC", "psft-payroll", {}, "invalid_signature"],
    ["HMAC with another secret", "psft-payroll", { "x-hookd-signature": sign(erp(), "other") }, "invalid_signature"],
    ["wrong token", "monitor", { "x-auth-token": "tok-abc-124" }, "invalid_token"],
    ["missing token", "monitor", {}, "invalid_token"],
  ])("%s → 401 %s", async (_name, source, headers, code) => {
    const answer = await send(source, erp(), headers as Record<string, string>);
    expect(answer.status).toBe(401);
    expect(answer.body.error.code).toBe(code);
  });

  test("Standard Webhooks: valid → 200; stale timestamp or bad signature → 401", async () => {
    const body = JSON.stringify({ connector_id: "sw", event_type: "sla.breach", timestamp: "2026-04-20T03:00:00+02:00" });
    const headersAt = (sec: number, id = `msg_${crypto.randomUUID()}`) => ({
      "webhook-id": id,
      "webhook-timestamp": String(sec),
      "webhook-signature": standardSignature(SW_SECRET, id, sec, body),
    });
    const now = Math.floor(Date.now() / 1000);
    expect((await send("sw", body, headersAt(now))).status).toBe(200);
    const stale = await send("sw", body, headersAt(now - 600));
    expect(stale.status).toBe(401);
    expect(stale.body.error.code).toBe("invalid_signature");
    const forged = await send("sw", body.replace("sla.breach", "sla.fixed"), headersAt(now));
    expect(forged.status).toBe(401);
  });

  test("connector header that does not match → 403 connector_mismatch", async () => {
    const body = erp({ connector_id: "mon-7" });
    const answer = await send("monitor", body, { "x-auth-token": "tok-abc-123", "x-hookd-connector-id": "someone-else" });
    expect(answer.status).toBe(403);
    expect(answer.body.error.code).toBe("connector_mismatch");
    expect(answer.body.error.message).toBe('X-Hookd-Connector-Id is "someone-else", but this source\'s connector id is "mon-7" (case-sensitive)');
  });

  test("broken JSON → 422 invalid_body", async () => {
    const body = '{"connector_id": "psft-payroll",';
    const answer = await send("psft-payroll", body, { "x-hookd-signature": sign(body) });
    expect(answer.status).toBe(422);
    expect(answer.body.error.code).toBe("invalid_body");
    expect(answer.body.error.details[0].field).toBe("body");
  });

  test("body connector_id that does not match → 403 connector_mismatch", async () => {
    const body = erp({ connector_id: "other-connector" });
    const answer = await send("psft-payroll", body, { "x-hookd-signature": sign(body) });
    expect(answer.status).toBe(403);
    expect(answer.body.error.code).toBe("connector_mismatch");
    expect(answer.body.error.message).toBe('the body\'s connector_id is "other-connector", but this source\'s connector id is "psft-payroll" (case-sensitive)');
  });

  test("schema violations → 422 invalid_body naming every bad field", async () => {
    const body = JSON.stringify({ connector_id: "psft-payroll", event_type: "nodot", timestamp: "2026-04-20T03:00:00", severity: "fatal", metadata: [1] });
    const answer = await send("psft-payroll", body, { "x-hookd-signature": sign(body) });
    expect(answer.status).toBe(422);
    expect(answer.body.error.code).toBe("invalid_body");
    const fields = answer.body.error.details.map((d: { field: string }) => d.field).sort();
    expect(fields).toEqual(["event_type", "metadata", "severity", "timestamp"]);
  });

  test("schema json: the type comes from event_type_field; missing → 422 naming it", async () => {
    const ok = await send("jobs", JSON.stringify({ kind: "job.completed", id: 7 }), { "x-auth-token": "tok-jobs-1" });
    expect(ok.status).toBe(200);
    const missing = await send("jobs", JSON.stringify({ id: 7 }), { "x-auth-token": "tok-jobs-1" });
    expect(missing.status).toBe(422);
    expect(missing.body.error.details[0].field).toBe("kind");
  });

  test("dedupe: a repeated webhook-id with the same body is 200 with the original id and stores nothing; another body is 422", async () => {
    const body = erp({ message: "dedupe me" });
    const headers = { "x-hookd-signature": sign(body), "webhook-id": "msg-dedupe-1" };
    const first = await send("psft-payroll", body, headers);
    const events = await eventCount();
    const again = await send("psft-payroll", body, headers);
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(first.body.id);
    expect(await eventCount()).toBe(events);
    const other = erp({ message: "something else" });
    const reused = await send("psft-payroll", other, { "x-hookd-signature": sign(other), "webhook-id": "msg-dedupe-1" });
    expect(reused.status).toBe(422);
    expect(reused.body.error.code).toBe("idempotency_key_reused");
    const dupes = (await server.api("GET", "/v1/inbound?source=psft-payroll&status=duplicate")).body.data;
    expect(dupes.some((d: { event_id: string }) => d.event_id === first.body.id)).toBe(true);
  });

  test("rate limit: accepted events count, duplicates do not; over it → 429 with Retry-After", async () => {
    const h = { "x-auth-token": "tok-lim-1" };
    const a = erp({ connector_id: "limited", message: "a" });
    expect((await send("limited", a, { ...h, "idempotency-key": "lim-a" })).status).toBe(200);
    expect((await send("limited", a, { ...h, "idempotency-key": "lim-a" })).status).toBe(200); // duplicate, not counted
    expect((await send("limited", erp({ connector_id: "limited", message: "b" }), h)).status).toBe(200);
    const before = Date.now();
    const over = await send("limited", erp({ connector_id: "limited", message: "c" }), h);
    const after = Date.now();
    expect(over.status).toBe(429);
    expect(over.body.error.code).toBe("rate_limited");
    // The 1h window is the clock hour: Retry-After is what is left of it, rounded up (exact values: rate-limit.test.ts).
    const left = (t: number) => Math.ceil((Math.floor(t / 3_600_000) * 3_600_000 + 3_600_000 - t) / 1000);
    const retryAfter = Number(over.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThanOrEqual(left(after));
    expect(retryAfter).toBeLessThanOrEqual(left(before));
  });

  test("storage not writable → 503 with Retry-After, never a 200; it recovers", async () => {
    const blocker = new Database(join(server.dir, "hookd.db"));
    blocker.run("PRAGMA busy_timeout = 2000");
    blocker.run("BEGIN IMMEDIATE");
    try {
      const body = erp({ message: "during outage" });
      const answer = await send("psft-payroll", body, { "x-hookd-signature": sign(body) });
      expect(answer.status).toBe(503);
      expect(answer.headers.get("retry-after")).toBeTruthy();
      expect(answer.body.error.code).toBe("storage_unavailable");
    } finally {
      blocker.run("ROLLBACK");
      blocker.close();
    }
    const body = erp({ message: "after outage" });
    expect((await send("psft-payroll", body, { "x-hookd-signature": sign(body) })).status).toBe(200);
  });

  test("GET on an inbound URL is 405 with Allow: POST", async () => {
    const answer = await call(`${server.url}/in/psft-payroll`, "GET");
    expect(answer.status).toBe(405);
    expect(answer.headers.get("allow")).toBe("POST");
  });
});

describe("GET /v1/inbound", () => {
  test("lists rejections with their reason and size but never a body; accepted ones show the body on GET one", async () => {
    const rejected = (await server.api("GET", "/v1/inbound?status=rejected&limit=500")).body.data;
    expect(rejected.length).toBeGreaterThan(0);
    expect(rejected.every((r: { reason: string | null }) => r.reason !== null)).toBe(true);
    const reasons = new Set(rejected.map((r: { reason: string }) => r.reason));
    for (const r of ["invalid_signature", "invalid_token", "connector_mismatch", "invalid_body", "rate_limited"]) expect(reasons).toContain(r);
    expect(reasons).not.toContain("unknown_source");
    const one = (await server.api("GET", `/v1/inbound/${rejected[0].id}`)).body.data;
    expect(one.body).toBeNull();
    const accepted = (await server.api("GET", "/v1/inbound?status=accepted&source=jobs")).body.data[0];
    const full = (await server.api("GET", `/v1/inbound/${accepted.id}`)).body.data;
    expect(full.body).toBe(JSON.stringify({ kind: "job.completed", id: 7 }));
    expect(full.headers["x-auth-token"]).toBeUndefined();
    expect(JSON.stringify(full)).not.toContain("tok-jobs-1");
  });
});

describe("dedupe keys", () => {
  test("a blank webhook-id or Idempotency-Key is no key: two different events both go through", async () => {
    for (const header of ["webhook-id", "idempotency-key"]) {
      const a = erp({ message: `blank ${header} a` });
      const b = erp({ message: `blank ${header} b` });
      const first = await send("psft-payroll", a, { "x-hookd-signature": sign(a), [header]: "  " });
      const second = await send("psft-payroll", b, { "x-hookd-signature": sign(b), [header]: "" });
      expect([first.status, second.status]).toEqual([200, 200]);
      expect(second.body.id).not.toBe(first.body.id);
    }
  });

  test("two long keys that share their first 255 characters are different keys", async () => {
    const prefix = "k".repeat(300);
    const a = erp({ message: "long a" });
    const b = erp({ message: "long b" });
    expect((await send("psft-payroll", a, { "x-hookd-signature": sign(a), "idempotency-key": `${prefix}-a` })).status).toBe(200);
    expect((await send("psft-payroll", b, { "x-hookd-signature": sign(b), "idempotency-key": `${prefix}-b` })).status).toBe(200);
  });
});

describe("explaining a failed signature", () => {
  test("a rejected request records the body's size and SHA-256, never the body or the expected signature", async () => {
    const body = erp({ message: "signed with the wrong secret" });
    const wrong = sign(body, "not-the-secret");
    const answer = await send("psft-payroll", body, { "x-hookd-signature": wrong });
    expect(answer.status).toBe(401);
    const rows = (await server.api("GET", "/v1/inbound?source=psft-payroll&status=rejected&limit=500")).body.data;
    const row = rows.find((r: { body_sha256: string | null }) => r.body_sha256 === createHash("sha256").update(body).digest("hex"));
    expect(row).toBeDefined();
    expect(row.size).toBe(Buffer.byteLength(body));
    expect(row.reason).toBe("invalid_signature");
    const one = (await server.api("GET", `/v1/inbound/${row.id}`));
    expect(one.body.data.body).toBeNull();
    expect(one.text).not.toContain(sign(body).slice(7));
    expect(one.text).not.toContain(wrong.slice(7));
  });
});
