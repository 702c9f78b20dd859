import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Tx } from "../../src/storage/types";
import { waitFor } from "../support/process";
import { type Receiver, startReceiver } from "../support/receiver";
import { type ApiAnswer, call, startTestServer, type TestServer } from "../support/test-server";

// SPEC §14 audit log: every change made through the admin API is recorded, masked, in the transaction
// of the change, and listed newest first by GET /v1/audit. Two keys: the test server's "test" and a
// second one from key_env, named "env:AUDIT_OTHER_KEY".

const OTHER_KEY = `other-key-${crypto.randomUUID()}`;
const OTHER = "env:AUDIT_OTHER_KEY";
const TOKEN = `Bearer audit-canary-${crypto.randomUUID()}`;

let server: TestServer;
let receiver: Receiver;

beforeAll(async () => {
  receiver = startReceiver();
  server = await startTestServer(
    { delivery: 'require_https = false\nallow_targets = ["127.0.0.0/8"]\nretry_schedule = ["1h"]', api: 'key_env = "AUDIT_OTHER_KEY"' },
    { env: { AUDIT_OTHER_KEY: OTHER_KEY } },
  );
});
afterAll(async () => {
  await server.stop();
  await receiver.stop();
});

const asOther = (method: string, path: string, body?: unknown) => server.api(method, path, body, { authorization: `Bearer ${OTHER_KEY}` });
const requestId = (answer: ApiAnswer) => answer.headers.get("x-request-id");
const auditOf = async (query: string) => {
  const answer = await server.api("GET", `/v1/audit?${query}`);
  expect(answer.status).toBe(200);
  return answer.body.data as any[];
};

describe("an endpoint's life in the audit log", () => {
  let id: string;
  const answers: ApiAnswer[] = [];
  const secrets: string[] = [];

  beforeAll(async () => {
    const created = await asOther("POST", "/v1/webhooks", { url: `${receiver.url}/a`, events: ["*"], headers: { "X-Team": "ops" } });
    expect(created.status).toBe(201);
    id = created.body.data.id;
    secrets.push(created.body.data.secret);
    const patched = await asOther("PATCH", `/v1/webhooks/${id}`, { url: `${receiver.url}/b`, headers: { "X-Team": "ops", Authorization: TOKEN } });
    expect(patched.status).toBe(200);
    const rotated = await asOther("POST", `/v1/webhooks/${id}/rotate-secret`);
    expect(rotated.status).toBe(200);
    secrets.push(rotated.body.data.secret);
    const deleted = await asOther("DELETE", `/v1/webhooks/${id}`);
    expect(deleted.status).toBe(204);
    answers.push(created, patched, rotated, deleted);
  });

  test("create, PATCH, rotate-secret and DELETE make four entries, newest first, each with the key name and the X-Request-Id answered", async () => {
    const entries = await auditOf(`target_id=${id}`);
    expect(entries.map((e) => `${e.method} ${e.path}`)).toEqual([
      `DELETE /v1/webhooks/${id}`,
      `POST /v1/webhooks/${id}/rotate-secret`,
      `PATCH /v1/webhooks/${id}`,
      "POST /v1/webhooks",
    ]);
    expect(entries.map((e) => e.key)).toEqual([OTHER, OTHER, OTHER, OTHER]);
    expect(entries.map((e) => e.request_id)).toEqual([...answers].reverse().map(requestId));
    for (const e of entries) {
      expect(e.id).toMatch(/^aud_[0-9a-z]{26}$/);
      expect(e.target_id).toBe(id);
      expect(e.client_ip).toBe("127.0.0.1");
      expect(Date.parse(e.time)).toBeGreaterThan(0);
    }
  });

  test("each entry's changes: create after only, PATCH only what changed (URL before/after, the new header masked), rotate and delete masked", async () => {
    const [deleted, rotated, patched, created] = await auditOf(`target_id=${id}`);
    expect(created.changes.url).toEqual({ before: null, after: `${receiver.url}/a` });
    expect(created.changes.secret).toEqual({ before: null, after: "********" });
    expect(Object.values(created.changes).every((c: any) => c.before === null)).toBe(true);
    expect(patched.changes).toEqual({
      url: { before: `${receiver.url}/a`, after: `${receiver.url}/b` },
      headers: { before: { "X-Team": "ops" }, after: { "X-Team": "ops", Authorization: "********" } },
    });
    expect(rotated.changes).toEqual({ secret: { before: "********", after: "********" } });
    expect(deleted.changes.url).toEqual({ before: `${receiver.url}/b`, after: null });
    expect(deleted.changes.headers).toEqual({ before: { "X-Team": "ops", Authorization: "********" }, after: null });
    expect(Object.values(deleted.changes).every((c: any) => c.after === null)).toBe(true);
  });

  test("neither secret nor the header value is in the stored audit rows, nor beside audit content in the database and WAL files", () => {
    const path = join(server.dir, "hookd.db");
    const db = new Database(path, { readonly: true });
    const rows = db.query<{ text: string }, []>("SELECT id || key || client_ip || request_id || method || path || coalesce(target_id, '') || changes AS text FROM audit_log").all();
    db.close();
    const stored = rows.map((r) => r.text).join("\n");
    expect(stored).toContain(`${receiver.url}/b`);
    for (const secret of [...secrets, TOKEN]) expect(stored).not.toContain(secret);

    // The webhooks table keeps the current and previous secret and the header as given (they must be
    // sent), so the raw bytes are checked where audit content is: every occurrence's surroundings.
    const raw = Buffer.concat([readFileSync(path), ...(existsSync(`${path}-wal`) ? [readFileSync(`${path}-wal`)] : [])]);
    const patchChanges = JSON.stringify({ url: { before: `${receiver.url}/a`, after: `${receiver.url}/b` } }).slice(0, -1);
    expect(raw.includes(patchChanges)).toBe(true);
    // The current secret is in the webhooks row: the scan below sees stored bytes, it is not vacuous.
    expect(raw.includes(secrets[1]!)).toBe(true);
    for (const secret of [...secrets, TOKEN]) {
      for (let at = raw.indexOf(secret); at !== -1; at = raw.indexOf(secret, at + 1)) {
        const around = raw.subarray(Math.max(0, at - 300), at + secret.length + 300).toString("latin1");
        expect(around).not.toContain('{"before":');
        expect(around).not.toContain('"after":');
      }
    }
  });
});

describe("a change that does not happen leaves no entry", () => {
  let limited: TestServer;
  beforeAll(async () => {
    limited = await startTestServer({ delivery: 'require_https = false\nallow_targets = ["127.0.0.0/8"]\nmax_endpoints = 1' });
  });
  afterAll(() => limited.stop());
  const count = async () => (await limited.api("GET", "/v1/audit?limit=500")).body.data.length as number;

  test("creating past [delivery] max_endpoints: 422 limit_reached, no entry", async () => {
    expect((await limited.api("POST", "/v1/webhooks", { url: "http://127.0.0.1:9/a", events: ["*"] })).status).toBe(201);
    const before = await count();
    const refused = await limited.api("POST", "/v1/webhooks", { url: "http://127.0.0.1:9/b", events: ["*"] });
    expect(refused.body.error.code).toBe("limit_reached");
    expect(await count()).toBe(before);
  });

  test("refused before the transaction (404, 422, 409): no entry", async () => {
    const id = (await limited.api("GET", "/v1/webhooks")).body.data[0].id;
    const before = await count();
    const refusals = [
      await limited.api("PATCH", "/v1/webhooks/wh_00000000000000000000000000", { url: "http://127.0.0.1:9/c" }),
      await limited.api("PATCH", `/v1/webhooks/${id}`, { url: "ftp://nowhere" }),
      await limited.api("POST", `/v1/webhooks/${id}/rotate-secret`, { secret: "short" }),
      await limited.api("DELETE", "/v1/resources/res_00000000000000000000000000"),
      await limited.api("POST", "/v1/deliveries/dlv_00000000000000000000000000/retry"),
    ];
    expect(refusals.map((r) => r.status)).toEqual([404, 422, 422, 404, 404]);
    await limited.api("PATCH", `/v1/webhooks/${id}`, { status: "disabled" });
    const conflict = await limited.api("POST", `/v1/webhooks/${id}/test`);
    expect(conflict.status).toBe(409);
    expect(await count()).toBe(before + 1); // the disable only
    await limited.api("PATCH", `/v1/webhooks/${id}`, { status: "active" });
  });

  test("a PATCH that changes nothing: no entry", async () => {
    const id = (await limited.api("GET", "/v1/webhooks")).body.data[0].id;
    const before = await count();
    expect((await limited.api("PATCH", `/v1/webhooks/${id}`, { description: "" })).status).toBe(200);
    expect(await count()).toBe(before);
  });

  test("a transaction that fails after the entry was written keeps neither the change nor the entry", async () => {
    const id = (await limited.api("GET", "/v1/webhooks")).body.data[0].id;
    const storage = limited.app.storage as { tx: <T>(fn: (tx: Tx) => Promise<T>) => Promise<T> };
    const secretBefore = (await limited.app.storage.webhooks.get(id))!.secret;
    const before = await count();
    const real = storage.tx;
    // The idempotency answer is stored last in the rotate's transaction, after the audit entry.
    storage.tx = (fn) =>
      real((tx) => fn(new Proxy(tx, { get: (t, p) => (p === "idempotency" ? { complete: async () => { throw new Error("disk full"); } } : Reflect.get(t, p)) })));
    try {
      const failed = await limited.api("POST", `/v1/webhooks/${id}/rotate-secret`, undefined, { "idempotency-key": "audit-fails" });
      expect(failed.status).toBe(500);
    } finally {
      storage.tx = real;
    }
    expect((await limited.app.storage.webhooks.get(id))!.secret).toBe(secretBefore);
    expect(await count()).toBe(before);
  });
});

describe("other changes are recorded", () => {
  let id: string;
  beforeAll(async () => {
    id = (await server.api("POST", "/v1/webhooks", { url: `${receiver.url}/other`, events: ["*"] })).body.data.id;
  });

  test("test: the event and delivery it made", async () => {
    const sent = await server.api("POST", `/v1/webhooks/${id}/test`);
    expect(sent.status).toBe(202);
    const [entry] = await auditOf(`target_id=${id}&limit=1`);
    expect(entry).toMatchObject({ method: "POST", path: `/v1/webhooks/${id}/test`, key: "test", request_id: requestId(sent) });
    expect(entry.changes).toEqual({ event_id: { before: null, after: sent.body.data.event_id }, delivery_id: { before: null, after: sent.body.data.delivery_id } });
  });

  test("retry: the delivery's status before and after", async () => {
    const dlv = (await server.api("POST", `/v1/webhooks/${id}/test`)).body.data.delivery_id;
    await waitFor(async () => (await server.api("GET", `/v1/deliveries/${dlv}`)).body.data.status === "delivered", 5000, "delivered");
    const retried = await server.api("POST", `/v1/deliveries/${dlv}/retry`);
    expect(retried.status).toBe(202);
    const [entry] = await auditOf(`target_id=${dlv}`);
    expect(entry).toMatchObject({ method: "POST", path: `/v1/deliveries/${dlv}/retry`, target_id: dlv, request_id: requestId(retried) });
    expect(entry.changes).toEqual({ status: { before: "delivered", after: "pending" } });
    await waitFor(() => server.app.scheduler.idle, 5000, "the retry settled");
  });

  test("recover: the time asked for and how many were queued", async () => {
    const recovered = await server.api("POST", `/v1/webhooks/${id}/recover`, { since: "2026-01-01T00:00:00Z" });
    expect(recovered.status).toBe(202);
    const [entry] = await auditOf(`target_id=${id}&limit=1`);
    expect(entry.changes).toEqual({ since: { before: null, after: "2026-01-01T00:00:00.000Z" }, recovered: { before: null, after: recovered.body.data.recovered } });
  });

  test("bulk replay: one entry without a target, with the filter asked for; a dry run none", async () => {
    const before = (await auditOf("limit=500")).length;
    expect((await server.api("POST", "/v1/deliveries/replay", { since: "2026-01-01T00:00:00Z", dry_run: true })).status).toBe(200);
    expect((await auditOf("limit=500")).length).toBe(before);
    const replayed = await server.api("POST", "/v1/deliveries/replay", { since: "2026-01-01T00:00:00Z", webhook_id: id, status: ["delivered"] });
    expect(replayed.status).toBe(202);
    const [entry] = await auditOf("limit=1");
    expect(entry).toMatchObject({ method: "POST", path: "/v1/deliveries/replay", target_id: null, request_id: requestId(replayed) });
    expect(entry.changes).toEqual({
      status: { before: null, after: ["delivered"] },
      webhook_id: { before: null, after: id },
      since: { before: null, after: "2026-01-01T00:00:00.000Z" },
    });
    await waitFor(() => server.app.scheduler.idle, 5000, "the replay settled");
  });

  test("resources: create, update (only what changed) and delete", async () => {
    const created = await server.api("POST", "/v1/resources", { name: "nightly", metadata: { team: "ops" } });
    const res = created.body.data.id;
    await server.api("PATCH", `/v1/resources/${res}`, { name: "weekly", metadata: { team: "ops" } });
    await server.api("PATCH", `/v1/resources/${res}`, { name: "weekly" });
    await server.api("DELETE", `/v1/resources/${res}`);
    const entries = await auditOf(`target_id=${res}`);
    expect(entries.map((e) => e.method)).toEqual(["DELETE", "PATCH", "POST"]);
    expect(entries[2].request_id).toBe(requestId(created));
    expect(entries[2].changes).toEqual({
      type: { before: null, after: "resource" }, status: { before: null, after: "active" }, name: { before: null, after: "nightly" }, metadata: { before: null, after: { team: "ops" } },
    });
    expect(entries[1].changes).toEqual({ name: { before: "nightly", after: "weekly" } });
    expect(entries[0].changes.name).toEqual({ before: "weekly", after: null });
  });
});

describe("GET /v1/audit filters and pages", () => {
  test("key: only that key's entries", async () => {
    const other = await auditOf(`key=${encodeURIComponent(OTHER)}&limit=500`);
    expect(other.length).toBeGreaterThanOrEqual(4);
    expect(other.every((e) => e.key === OTHER)).toBe(true);
    const mine = await auditOf("key=test&limit=500");
    expect(mine.length).toBeGreaterThan(0);
    expect(mine.every((e) => e.key === "test")).toBe(true);
  });

  test("since: entries at or after the time, newest first", async () => {
    const all = await auditOf("limit=500");
    const pivot = all[2];
    const since = await auditOf(`since=${encodeURIComponent(pivot.time)}&limit=500`);
    expect(since.length).toBeGreaterThanOrEqual(3);
    expect(since.every((e) => Date.parse(e.time) >= Date.parse(pivot.time))).toBe(true);
    expect(since.map((e) => e.id)).toContain(pivot.id);
    expect(await auditOf("since=2999-01-01T00:00:00Z")).toEqual([]);
  });

  test("paging with next_cursor walks every entry once, newest first", async () => {
    const all = await auditOf("limit=500");
    const seen: string[] = [];
    let cursor: string | null = "";
    while (cursor !== null) {
      const page: ApiAnswer = await server.api("GET", `/v1/audit?limit=2${cursor ? `&cursor=${cursor}` : ""}`);
      expect(page.body.data.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.data.map((e: any) => e.id));
      cursor = page.body.next_cursor;
    }
    expect(seen).toEqual(all.map((e) => e.id));
    const times = all.map((e) => Date.parse(e.time));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
  });

  test.each([
    ["target_id=nope", "query.target_id"],
    ["since=yesterday", "query.since"],
    ["limit=0", "query.limit"],
    ["cursor=bm9wZQ", "query.cursor"],
    ["key=a&key=b", "query.key"],
  ])("?%s: invalid_query (400, as every list's query errors) naming %s", async (query, field) => {
    const answer = await server.api("GET", `/v1/audit?${query}`);
    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe("invalid_query");
    expect(answer.body.error.details.map((d: any) => d.field)).toContain(field);
  });

  test("needs a key", async () => {
    expect((await call(`${server.url}/v1/audit`, "GET")).status).toBe(401);
  });
});
