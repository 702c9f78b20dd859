import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { SQL } from "bun";
import { decideAttempt } from "../../src/delivery/outcome";
import { createRouter } from "../../src/delivery/fanout";
import { encodeBase32, newId } from "../../src/ids";
import { migrate } from "../../src/storage/postgres/migrate";
import { MIGRATIONS } from "../../src/storage/postgres/migrations";
import { openPostgresStorage } from "../../src/storage/postgres/storage";
import type { AuditEntry, ClaimedDelivery, DeliveryStatus, Storage } from "../../src/storage/types";
import { FakeClock } from "../support/fake-clock";
import { type PgCluster, startPgCluster } from "../support/postgres";

// A PostgreSQL database as schema 5 (delivery search, before the audit log) left it: an endpoint with
// a retry due, pending work, expired deliveries and delivered history. Opening it with this release
// must apply 6 (the audit log) and 7 (the search indexes made partial), keep every row, find the
// undelivered ones through the new indexes and hand out the pending work.

const NOW = Date.UTC(2030, 0, 1, 12);
const ID = {
  wh: newId("wh"), wh_other: newId("wh"),
  dlv_pending: newId("dlv"), dlv_retry: newId("dlv"), dlv_expired: newId("dlv"), dlv_done: newId("dlv"), dlv_other: newId("dlv"),
} as const;
const LEASE = () => 60_000;
let cluster: PgCluster | null = null;
let skipped = "";
beforeAll(async () => {
  const started = await startPgCluster();
  if (typeof started === "string") skipped = started;
  else cluster = started;
}, 90_000);
afterAll(async () => {
  await cluster?.stop();
});

async function schema5Database(url: string): Promise<void> {
  const pg = new SQL({ url, max: 1 });
  try {
    expect(await migrate(pg, NOW - 600_000, MIGRATIONS.filter((m) => m.version <= 5))).toEqual([1, 2, 3, 4, 5]);
    const t = NOW - 120_000;
    for (const [id, url, failures] of [[ID.wh, "https://hooks.example/a", 1], [ID.wh_other, "https://hooks.example/b", 0]] as const) {
      await pg.unsafe(
        `INSERT INTO webhooks (id, url, events, description, status, secret, failure_count, created_at, updated_at)
         VALUES ($1, $2, '["*"]', 'old', 'active', 'whsec_x', $3, $4, $4)`,
        [id, url, failures, NOW - 600_000],
      );
    }
    for (const [id, type] of [["evt_1", "erp.order"], ["evt_2", "erp.order"], ["evt_3", "erp.invoice"], ["evt_4", "erp.order"], ["evt_5", "erp.order"]]) {
      await pg.unsafe("INSERT INTO events (id, type, origin, body, created_at) VALUES ($1, $2, 'api', $3, $4)", [id!, type!, `{"id":"${id}","data":{}}`, t]);
    }
    const rows: [string, string, string, string, DeliveryStatus, number, number | null, number | null, string | null, number, number | null][] = [
      [ID.dlv_pending, "evt_1", ID.wh, "erp.order", "pending", 0, t, null, null, t, null],
      [ID.dlv_retry, "evt_2", ID.wh, "erp.order", "failed", 1, NOW - 60_000, 500, "HTTP 500", t + 1, null],
      [ID.dlv_expired, "evt_3", ID.wh, "erp.invoice", "expired", 3, null, 500, "HTTP 500", t + 2, null],
      [ID.dlv_done, "evt_4", ID.wh, "erp.order", "delivered", 1, null, 200, null, t + 3, t + 10_000],
      [ID.dlv_other, "evt_5", ID.wh_other, "erp.order", "expired", 1, null, 410, "HTTP 410", t + 4, null],
    ];
    for (const [id, event, webhook, type, status, attempts, next, code, error, created, delivered] of rows) {
      await pg.unsafe(
        `INSERT INTO deliveries (id, event_id, webhook_id, event_type, status, attempts, schedule_attempts, next_attempt_at, last_status_code,
           last_error, created_at, updated_at, delivered_at)
         VALUES ($1, $2, $3, $4, $5, $6, $6, $7, $8, $9, $10, $10, $11)`,
        [id, event, webhook, type, status, attempts, next, code, error, created, delivered],
      );
    }
    await pg.unsafe("INSERT INTO attempts (id, delivery_id, attempted_at, status_code, duration_ms) VALUES ($1, $2, $3, 200, 5)", [newId("att"), ID.dlv_done, t + 10_000]);
    await pg.unsafe("INSERT INTO delivery_queues (webhook_id, next_due_at, ready_at) VALUES ($1, $2, $2), ($3, NULL, NULL)", [ID.wh, t, ID.wh_other]);
  } finally {
    await pg.close();
  }
}

async function indexes(url: string): Promise<Record<string, string>> {
  const pg = new SQL({ url, max: 1 });
  try {
    const rows = (await pg.unsafe("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()")) as { indexname: string; indexdef: string }[];
    return Object.fromEntries(rows.map((r) => [r.indexname, r.indexdef]));
  } finally {
    await pg.close();
  }
}

describe("postgres migrations 006 (audit log) and 007 (partial search indexes)", () => {
  test("keep a schema-5 database's endpoints, work and history; its retry and pending work are delivered", async () => {
    if (cluster === null) return console.warn(skipped);
    const url = await cluster.createDatabase("upgrade_007");
    await schema5Database(url);
    const clock = new FakeClock(NOW);
    const opened: Storage & { migrationsApplied: number[] } = await openPostgresStorage(url, clock, { route: createRouter(), nodeId: "up" });
    try {
      expect(opened.migrationsApplied).toEqual([6, 7]);
      const made = await indexes(url);
      expect(made.deliveries_search_webhook).toBeUndefined();
      expect(made.deliveries_search_type).toBeUndefined();
      expect(made.deliveries_undelivered_webhook).toMatch(/\(webhook_id, status, created_at, id\) WHERE \(status = ANY \(ARRAY\['failed'::text, 'expired'::text\]\)\)$/);
      expect(made.deliveries_undelivered_type).toMatch(/\(event_type, status, created_at, id\) WHERE \(status = ANY/);
      expect(made.audit_log_time).toBeDefined();

      expect(await opened.webhooks.get(ID.wh)).toMatchObject({ url: "https://hooks.example/a", description: "old", failure_count: 1 });
      expect(await opened.deliveries.attempts(ID.dlv_done)).toHaveLength(1);
      expect(await opened.deliveries.countByStatus()).toEqual({ pending: 1, failed: 1, delivered: 1, expired: 2 });

      const search = async (statuses: DeliveryStatus[], over: { webhookId?: string; eventType?: string } = {}) =>
        (await opened.deliveries.search({ statuses, ...over }, { limit: 50 })).rows.map((d) => d.id);
      expect(await search(["failed", "expired"], { webhookId: ID.wh })).toEqual([ID.dlv_expired, ID.dlv_retry]);
      expect(await search(["failed", "expired"], { eventType: "erp.order" })).toEqual([ID.dlv_other, ID.dlv_retry]);
      expect(await search(["pending", "delivered"], { webhookId: ID.wh })).toEqual([ID.dlv_done, ID.dlv_pending]);

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

      const claimed = await opened.deliveries.claimDue({ now: clock.now(), total: 10, perEndpoint: 10, leaseMs: LEASE, owner: "up" });
      expect(claimed.map((d) => d.id).sort()).toEqual([ID.dlv_pending, ID.dlv_retry].sort());
      await deliver(opened, clock, claimed);
      expect(await search(["delivered"], { webhookId: ID.wh })).toEqual([ID.dlv_done, ID.dlv_retry, ID.dlv_pending]);
      expect(await search(["failed", "expired"], { webhookId: ID.wh })).toEqual([ID.dlv_expired]);

      clock.advance(1000);
      expect(await opened.deliveries.replay({ statuses: ["failed", "expired"], webhookId: ID.wh }, null, 10, clock.now())).toEqual({ count: 1, next: null });
      const again = await opened.deliveries.claimDue({ now: clock.now(), total: 10, perEndpoint: 10, leaseMs: LEASE, owner: "up" });
      expect(again.map((d) => d.id)).toEqual([ID.dlv_expired]);
      await deliver(opened, clock, again);
      expect(await opened.deliveries.countByStatus()).toEqual({ pending: 0, failed: 0, delivered: 4, expired: 1 });
    } finally {
      await opened.close();
    }
  }, 60_000);
});

async function deliver(s: Storage, clock: FakeClock, claimed: readonly ClaimedDelivery[]): Promise<void> {
  const results = claimed.map((d) => ({
    attemptId: newId("att"), deliveryId: d.id, webhookId: d.webhook_id, lease: d.lease, attemptedAt: clock.now(), durationMs: 5,
    statusCode: 200, error: null, response: "", ok: true, nextAttemptAt: null, gone: false,
  }));
  await s.deliveries.complete(results, (r, e) => decideAttempt(r, e, clock.now(), { disableAfterMs: 0 }), clock.now());
}
