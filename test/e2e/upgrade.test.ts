import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { newId } from "../../src/ids";
import { migrate } from "../../src/storage/sqlite/migrate";
import { MIGRATIONS } from "../../src/storage/sqlite/migrations";
import { openDatabase } from "../../src/storage/sqlite/open";
import { waitFor } from "../support/process";
import { startReceiver, type Receiver } from "../support/receiver";
import { startTestServer, type TestServer } from "../support/test-server";

// A database as the previous release (schema 7, before delivery_queues) left it after a crash: rows
// written with that release's SQL, including a lease its dead process still held. Serving it with this
// release must migrate it and deliver every piece of pending work, and keep the history readable.

const SECRET = `whsec_${Buffer.alloc(32, 7).toString("base64")}`;
// Real-looking ids (the API checks their shape), named for what each row is.
const ID = {
  wh_active: newId("wh"), wh_flaky: newId("wh"), wh_off: newId("wh"),
  dlv_pending: newId("dlv"), dlv_retry: newId("dlv"), dlv_leased: newId("dlv"), dlv_done: newId("dlv"), dlv_off: newId("dlv"),
} as const;
let server: TestServer | null = null;
let receiver: Receiver | null = null;
afterEach(async () => {
  await server?.stop();
  await receiver?.stop();
  server = receiver = null;
});

function previousReleaseDatabase(dir: string, receiverUrl: string, now: number): void {
  const db = openDatabase(join(dir, "hookd.db"));
  migrate(db, now, MIGRATIONS.filter((m) => m.version <= 7));
  const webhook = db.query(
    `INSERT INTO webhooks (id, url, events, description, status, secret, failure_count, last_failure_at, failing_since, created_at, updated_at)
     VALUES (?, ?, '["*"]', '', ?, ?, ?, ?, ?, ?, ?)`,
  );
  webhook.run(ID.wh_active, `${receiverUrl}/active`, "active", SECRET, 0, null, null, now, now);
  webhook.run(ID.wh_flaky, `${receiverUrl}/flaky`, "active", SECRET, 1, now - 60_000, now - 60_000, now, now);
  webhook.run(ID.wh_off, `${receiverUrl}/off`, "disabled", SECRET, 0, null, null, now, now);
  const event = db.query("INSERT INTO events (id, type, origin, body, created_at) VALUES (?, 'erp.order', 'api', ?, ?)");
  for (const id of ["evt_1", "evt_2", "evt_3", "evt_4", "evt_5"]) {
    event.run(id, `{"id":"${id}","type":"erp.order","created_at":"2026-12-01T00:00:00.000Z","data":{"n":"${id}"}}`, now - 120_000);
  }
  const delivery = db.query(
    `INSERT INTO deliveries (id, event_id, webhook_id, event_type, status, attempts, schedule_attempts, next_attempt_at, lease_until,
       last_status_code, last_error, created_at, updated_at, delivered_at)
     VALUES (?, ?, ?, 'erp.order', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  delivery.run(ID.dlv_pending, "evt_1", ID.wh_active, "pending", 0, 0, now - 120_000, null, null, null, now - 120_000, now - 120_000, null);
  delivery.run(ID.dlv_retry, "evt_2", ID.wh_flaky, "failed", 1, 1, now - 1_000, null, 500, "HTTP 500", now - 120_000, now - 60_000, null);
  delivery.run(ID.dlv_leased, "evt_3", ID.wh_active, "pending", 0, 0, now + 50_000, now + 50_000, null, null, now - 120_000, now - 120_000, null);
  delivery.run(ID.dlv_done, "evt_4", ID.wh_active, "delivered", 1, 1, null, null, 200, null, now - 120_000, now - 110_000, now - 110_000);
  delivery.run(ID.dlv_off, "evt_5", ID.wh_off, "pending", 0, 0, now - 120_000, null, null, null, now - 120_000, now - 120_000, null);
  const attempt = db.query(
    "INSERT INTO attempts (id, delivery_id, attempted_at, status_code, duration_ms, error, response) VALUES (?, ?, ?, ?, 5, ?, '')",
  );
  attempt.run(newId("att"), ID.dlv_retry, now - 60_000, 500, "HTTP 500");
  attempt.run(newId("att"), ID.dlv_done, now - 110_000, 200, null);
  db.close();
}

describe("upgrading a database made by the previous release", () => {
  test("migrates it, keeps endpoints and history, and delivers its pending, retrying and abandoned work", async () => {
    receiver = startReceiver();
    const dir = mkdtempSync(join(tmpdir(), "hookd-upgrade-"));
    previousReleaseDatabase(dir, receiver.url, Date.now());
    server = await startTestServer({ delivery: 'require_https = false\nallow_targets = ["127.0.0.0/8"]' }, { dir });

    await waitFor(() => receiver!.requests.length >= 3, 10_000, "three pending deliveries sent");
    const sent = receiver.requests.map((r) => `${r.path} ${r.headers["x-hookd-delivery"]}`).sort();
    expect(sent).toEqual([`/active ${ID.dlv_leased}`, `/active ${ID.dlv_pending}`, `/flaky ${ID.dlv_retry}`].sort());
    for (const id of [ID.dlv_pending, ID.dlv_retry, ID.dlv_leased]) {
      await waitFor(async () => (await server!.api("GET", `/v1/deliveries/${id}`)).body?.data?.status === "delivered", 5_000, `${id} delivered`);
    }
    const retried = await server.api("GET", `/v1/deliveries/${ID.dlv_retry}`);
    expect(retried.body.data.attempt_history.map((a: { status_code: number }) => a.status_code)).toEqual([500, 200]);
    const done = await server.api("GET", `/v1/deliveries/${ID.dlv_done}`);
    expect(done.body.data.status).toBe("delivered");
    expect(done.body.data.attempt_history).toHaveLength(1);
    const off = await server.api("GET", `/v1/deliveries/${ID.dlv_off}`);
    expect(off.body.data.status).toBe("expired");
    expect(off.body.data.last_error).toBe("endpoint_disabled");
    const flaky = await server.api("GET", `/v1/webhooks/${ID.wh_flaky}`);
    expect(flaky.body.data.failure_count).toBe(0);

    // New work after the upgrade flows through the new queue too.
    await server.api("POST", "/v1/events", { type: "erp.order", data: { n: "after" } });
    await waitFor(() => receiver!.requests.length >= 5, 5_000, "new event delivered to both active endpoints");
    expect(receiver.requests.filter((r) => r.path === "/off")).toHaveLength(0);
    rmSync(dir, { recursive: true, force: true });
  }, 30_000);
});
