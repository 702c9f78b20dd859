import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRouter } from "../../src/delivery/fanout";
import { decideAttempt } from "../../src/delivery/outcome";
import { encodeBase32, newId } from "../../src/ids";
import { migrate, schemaVersion } from "../../src/storage/sqlite/migrate";
import { MIGRATIONS } from "../../src/storage/sqlite/migrations";
import { openDatabase } from "../../src/storage/sqlite/open";
import { openSqliteStorage } from "../../src/storage/sqlite/storage";
import type { AuditEntry, ClaimedDelivery, DeliveryStatus, Storage } from "../../src/storage/types";
import { FakeClock } from "../support/fake-clock";

// A database as schema 12 (delivery search, before the audit log) left it, written with that schema's
// SQL: an endpoint with a retry due, pending work, an expired delivery and delivered history. Opening
// it with this release must apply 13 (the audit log) and 14 (the search indexes made partial), keep
// every row as it was, find the undelivered ones through the new indexes and hand out the pending work.

const NOW = Date.UTC(2030, 0, 1, 12);
const ID = {
  wh: newId("wh"), wh_other: newId("wh"),
  dlv_pending: newId("dlv"), dlv_retry: newId("dlv"), dlv_expired: newId("dlv"), dlv_done: newId("dlv"), dlv_other: newId("dlv"),
} as const;
const LEASE = () => 60_000;
let dir = "";
let storage: Storage | null = null;
afterEach(async () => {
  await storage?.close();
  storage = null;
  rmSync(dir, { recursive: true, force: true });
});

function schema12Database(path: string): void {
  const db = openDatabase(path);
  migrate(db, NOW - 600_000, MIGRATIONS.filter((m) => m.version <= 12));
  const webhook = db.query(
    `INSERT INTO webhooks (id, url, events, description, status, secret, failure_count, last_failure_at, failing_since, created_at, updated_at,
       headers, timeout_ms, rate_limit, ordering, ordering_key, client_tls, oauth2, filter, transform, content_type, failing_reported)
     VALUES (?, ?, '["*"]', 'old', 'active', 'whsec_x', ?, ?, ?, ?, ?, NULL, NULL, NULL, 'none', NULL, NULL, NULL, NULL, NULL, NULL, 0)`,
  );
  webhook.run(ID.wh, "https://hooks.example/a", 1, NOW - 60_000, NOW - 60_000, NOW - 600_000, NOW - 600_000);
  webhook.run(ID.wh_other, "https://hooks.example/b", 0, null, null, NOW - 600_000, NOW - 600_000);
  const event = db.query("INSERT INTO events (id, type, origin, body, created_at, source) VALUES (?, ?, 'api', ?, ?, NULL)");
  for (const [id, type] of [["evt_1", "erp.order"], ["evt_2", "erp.order"], ["evt_3", "erp.invoice"], ["evt_4", "erp.order"], ["evt_5", "erp.order"]]) {
    event.run(id!, type!, `{"id":"${id}","data":{}}`, NOW - 120_000);
  }
  const delivery = db.query(
    `INSERT INTO deliveries (id, event_id, webhook_id, event_type, status, attempts, schedule_attempts, next_attempt_at, lease_until,
       lease_owner, last_status_code, last_error, created_at, updated_at, delivered_at, lane, sequence)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, ?, ?, ?, ?, ?, NULL, NULL)`,
  );
  const t = NOW - 120_000;
  delivery.run(ID.dlv_pending, "evt_1", ID.wh, "erp.order", "pending", 0, 0, t, null, null, t, t, null);
  // A retry due a minute ago: attempted once, answered 500.
  delivery.run(ID.dlv_retry, "evt_2", ID.wh, "erp.order", "failed", 1, 1, NOW - 60_000, 500, "HTTP 500", t + 1, NOW - 60_000, null);
  delivery.run(ID.dlv_expired, "evt_3", ID.wh, "erp.invoice", "expired", 3, 3, null, 500, "HTTP 500", t + 2, t + 30_000, null);
  delivery.run(ID.dlv_done, "evt_4", ID.wh, "erp.order", "delivered", 1, 1, null, 200, null, t + 3, t + 10_000, t + 10_000);
  delivery.run(ID.dlv_other, "evt_5", ID.wh_other, "erp.order", "expired", 1, 1, null, 410, "HTTP 410", t + 4, t + 10_000, null);
  const attempt = db.query("INSERT INTO attempts (id, delivery_id, attempted_at, status_code, duration_ms, error, response) VALUES (?, ?, ?, ?, 5, ?, '')");
  attempt.run(newId("att"), ID.dlv_retry, NOW - 60_000 - 30_000, 500, "HTTP 500");
  attempt.run(newId("att"), ID.dlv_done, t + 10_000, 200, null);
  const queue = db.query("INSERT INTO delivery_queues (webhook_id, next_due_at, in_flight, served_at, ready_at) VALUES (?, ?, 0, 0, ?)");
  queue.run(ID.wh, t, t);
  queue.run(ID.wh_other, null, null);
  expect(schemaVersion(db)).toBe(12);
  db.close();
}

function indexes(path: string): Record<string, string> {
  const db = openDatabase(path);
  try {
    const rows = db.query<{ name: string; sql: string }, []>("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL").all();
    return Object.fromEntries(rows.map((r) => [r.name, r.sql]));
  } finally {
    db.close();
  }
}

describe("migrations 013 (audit log) and 014 (partial search indexes)", () => {
  test("keep a schema-12 database's endpoints, work and history; its retry and pending work are delivered", async () => {
    dir = mkdtempSync(join(tmpdir(), "hookd-013-"));
    const path = join(dir, "hookd.db");
    schema12Database(path);
    const clock = new FakeClock(NOW);
    const opened = openSqliteStorage(path, clock, { route: createRouter() });
    storage = opened;
    expect(opened.migrationsApplied).toEqual([13, 14]);

    const made = indexes(path);
    expect(made.deliveries_search_webhook).toBeUndefined();
    expect(made.deliveries_search_type).toBeUndefined();
    expect(made.deliveries_undelivered_webhook).toMatch(/\(webhook_id, status, created_at, id\) WHERE status IN \('failed', 'expired'\)$/);
    expect(made.deliveries_undelivered_type).toMatch(/\(event_type, status, created_at, id\) WHERE status IN \('failed', 'expired'\)$/);
    expect(made.audit_log_time).toBeDefined();

    expect(await opened.webhooks.get(ID.wh)).toMatchObject({ url: "https://hooks.example/a", description: "old", failure_count: 1, failing_since: NOW - 60_000 });
    expect(await opened.deliveries.get(ID.dlv_done)).toMatchObject({ status: "delivered", attempts: 1, delivered_at: NOW - 110_000 });
    expect(await opened.deliveries.attempts(ID.dlv_done)).toHaveLength(1);
    expect(await opened.deliveries.attempts(ID.dlv_retry)).toHaveLength(1);
    expect(await opened.deliveries.countByStatus()).toEqual({ pending: 1, failed: 1, delivered: 1, expired: 2 });

    // The undelivered view, by endpoint and by type, reads the rows migration 014 indexed.
    const search = async (statuses: DeliveryStatus[], over: { webhookId?: string; eventType?: string } = {}) =>
      (await opened.deliveries.search({ statuses, ...over }, { limit: 50 })).rows.map((d) => d.id);
    expect(await search(["failed", "expired"], { webhookId: ID.wh })).toEqual([ID.dlv_expired, ID.dlv_retry]);
    expect(await search(["failed", "expired"], { eventType: "erp.order" })).toEqual([ID.dlv_other, ID.dlv_retry]);
    expect(await search(["pending", "delivered"], { webhookId: ID.wh })).toEqual([ID.dlv_done, ID.dlv_pending]);
    expect(await opened.deliveries.replayable({ statuses: ["expired"], webhookId: ID.wh }, null, 10)).toEqual({ count: 1, next: null });

    // The audit log is there and empty; an entry written with a change comes back.
    expect(await opened.audit.list({ limit: 10 })).toEqual([]);
    const entry: AuditEntry = {
      id: `aud_${encodeBase32(Bun.randomUUIDv7("buffer", NOW))}`, time: NOW, key: "ops", client_ip: "192.0.2.1", request_id: "req_1",
      method: "PATCH", path: `/v1/webhooks/${ID.wh}`, target_id: ID.wh, changes: { description: { before: "old", after: "new" } },
    };
    await opened.tx(async (tx) => {
      await tx.webhooks.update(ID.wh, { description: "new" }, NOW);
      await tx.audit.record(entry);
    });
    expect(await opened.audit.list({ limit: 10, target_id: ID.wh })).toEqual([entry]);

    // What `serve` does: everything due is claimed and delivered; a delivered one leaves the undelivered view.
    const claimed = await opened.deliveries.claimDue({ now: clock.now(), total: 10, perEndpoint: 10, leaseMs: LEASE, owner: "node" });
    expect(claimed.map((d) => d.id).sort()).toEqual([ID.dlv_pending, ID.dlv_retry].sort());
    await deliver(opened, clock, claimed);
    expect(await opened.deliveries.get(ID.dlv_retry)).toMatchObject({ status: "delivered", attempts: 2 });
    expect(await opened.deliveries.get(ID.dlv_pending)).toMatchObject({ status: "delivered", attempts: 1 });
    expect(await search(["failed", "expired"], { webhookId: ID.wh })).toEqual([ID.dlv_expired]);
    // Newest first by created_at (t+3, t+1, t), whenever they were delivered.
    expect(await search(["delivered"], { webhookId: ID.wh })).toEqual([ID.dlv_done, ID.dlv_retry, ID.dlv_pending]);

    // Replay brings the expired one back through the partial index, and it is delivered too.
    clock.advance(1000);
    expect(await opened.deliveries.replay({ statuses: ["failed", "expired"], webhookId: ID.wh }, null, 10, clock.now())).toEqual({ count: 1, next: null });
    const again = await opened.deliveries.claimDue({ now: clock.now(), total: 10, perEndpoint: 10, leaseMs: LEASE, owner: "node" });
    expect(again.map((d) => d.id)).toEqual([ID.dlv_expired]);
    await deliver(opened, clock, again);
    expect(await search(["failed", "expired"], { webhookId: ID.wh })).toEqual([]);
    expect(await opened.deliveries.countByStatus()).toEqual({ pending: 0, failed: 0, delivered: 4, expired: 1 });
  });
});

async function deliver(s: Storage, clock: FakeClock, claimed: readonly ClaimedDelivery[]): Promise<void> {
  const results = claimed.map((d) => ({
    attemptId: newId("att"), deliveryId: d.id, webhookId: d.webhook_id, lease: d.lease, attemptedAt: clock.now(), durationMs: 5,
    statusCode: 200, error: null, response: "", ok: true, nextAttemptAt: null, gone: false,
  }));
  await s.deliveries.complete(results, (r, e) => decideAttempt(r, e, clock.now(), { disableAfterMs: 0 }), clock.now());
}
