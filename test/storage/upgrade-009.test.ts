import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRouter } from "../../src/delivery/fanout";
import { buildEvent } from "../../src/events/envelope";
import { newId } from "../../src/ids";
import { migrate, schemaVersion } from "../../src/storage/sqlite/migrate";
import { MIGRATIONS } from "../../src/storage/sqlite/migrations";
import { openDatabase } from "../../src/storage/sqlite/open";
import { openSqliteStorage } from "../../src/storage/sqlite/storage";
import { ENDPOINT_OPTION_DEFAULTS, type Storage } from "../../src/storage/types";
import { FakeClock } from "../support/fake-clock";

// A database as schema 8 (before endpoint options and FIFO lanes) left it, written with that schema's
// SQL: endpoints, pending and retrying work, a lease a dead process held, and history. Opening it with
// this release must migrate it, keep every row as it was, and hand out the pending work.

const NOW = Date.UTC(2030, 0, 1, 12);
const ID = {
  wh_active: newId("wh"), wh_off: newId("wh"),
  dlv_pending: newId("dlv"), dlv_retry: newId("dlv"), dlv_leased: newId("dlv"), dlv_done: newId("dlv"), dlv_off: newId("dlv"),
} as const;
let dir = "";
let storage: Storage | null = null;
afterEach(async () => {
  await storage?.close();
  storage = null;
  rmSync(dir, { recursive: true, force: true });
});

function schema8Database(path: string): void {
  const db = openDatabase(path);
  // Rows are written at schema 7 and migration 8 summarises them into ready rows, as a real upgrade did.
  migrate(db, NOW - 600_000, MIGRATIONS.filter((m) => m.version <= 7));
  const webhook = db.query(
    `INSERT INTO webhooks (id, url, events, description, status, secret, failure_count, last_failure_at, failing_since, created_at, updated_at)
     VALUES (?, ?, '["*"]', 'old', ?, 'whsec_x', ?, ?, ?, ?, ?)`,
  );
  webhook.run(ID.wh_active, "https://hooks.example/a", "active", 1, NOW - 60_000, NOW - 60_000, NOW - 600_000, NOW - 600_000);
  webhook.run(ID.wh_off, "https://hooks.example/off", "disabled", 0, null, null, NOW - 600_000, NOW - 600_000);
  const event = db.query("INSERT INTO events (id, type, origin, body, created_at) VALUES (?, 'erp.order', 'api', ?, ?)");
  for (const id of ["evt_1", "evt_2", "evt_3", "evt_4", "evt_5"]) event.run(id, `{"id":"${id}","data":{}}`, NOW - 120_000);
  const delivery = db.query(
    `INSERT INTO deliveries (id, event_id, webhook_id, event_type, status, attempts, schedule_attempts, next_attempt_at, lease_until,
       last_status_code, last_error, created_at, updated_at, delivered_at)
     VALUES (?, ?, ?, 'erp.order', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  delivery.run(ID.dlv_pending, "evt_1", ID.wh_active, "pending", 0, 0, NOW - 120_000, null, null, null, NOW - 120_000, NOW - 120_000, null);
  delivery.run(ID.dlv_retry, "evt_2", ID.wh_active, "failed", 1, 1, NOW - 1_000, null, 500, "HTTP 500", NOW - 120_000, NOW - 60_000, null);
  delivery.run(ID.dlv_leased, "evt_3", ID.wh_active, "pending", 0, 0, NOW + 50_000, NOW + 50_000, null, null, NOW - 120_000, NOW - 120_000, null);
  delivery.run(ID.dlv_done, "evt_4", ID.wh_active, "delivered", 1, 1, null, null, 200, null, NOW - 120_000, NOW - 110_000, NOW - 110_000);
  delivery.run(ID.dlv_off, "evt_5", ID.wh_off, "pending", 0, 0, NOW - 120_000, null, null, null, NOW - 120_000, NOW - 120_000, null);
  const attempt = db.query(
    "INSERT INTO attempts (id, delivery_id, attempted_at, status_code, duration_ms, error, response) VALUES (?, ?, ?, ?, 5, ?, '')",
  );
  attempt.run(newId("att"), ID.dlv_retry, NOW - 60_000, 500, "HTTP 500");
  attempt.run(newId("att"), ID.dlv_done, NOW - 110_000, 200, null);
  migrate(db, NOW - 300_000, MIGRATIONS.filter((m) => m.version <= 8));
  db.run("UPDATE deliveries SET lease_owner = 'old-node 1' WHERE id = ?", [ID.dlv_leased]);
  db.run("UPDATE delivery_queues SET in_flight = 1 WHERE webhook_id = ?", [ID.wh_active]);
  expect(schemaVersion(db)).toBe(8);
  db.close();
}

describe("migration 009 (endpoint options, FIFO lanes, rate limits)", () => {
  test("keeps a schema-8 database's endpoints, work and history, and its pending work is claimed", async () => {
    dir = mkdtempSync(join(tmpdir(), "hookd-009-"));
    const path = join(dir, "hookd.db");
    schema8Database(path);
    const clock = new FakeClock(NOW);
    const opened = openSqliteStorage(path, clock, { route: createRouter() });
    storage = opened;
    // Later migrations follow; what matters here is that 9 (and what comes after it) ran on this database.
    expect(opened.migrationsApplied.slice(0, 2)).toEqual([9, 10]);

    const active = await opened.webhooks.get(ID.wh_active);
    expect(active).toMatchObject({ ...ENDPOINT_OPTION_DEFAULTS, url: "https://hooks.example/a", description: "old", failure_count: 1 });
    expect(await opened.webhooks.get(ID.wh_off)).toMatchObject({ ...ENDPOINT_OPTION_DEFAULTS, status: "disabled" });
    expect(await opened.webhooks.active()).toEqual([{ id: ID.wh_active, events: ["*"], ordering: "none", ordering_key: null, filter: null }]);
    const done = await opened.deliveries.get(ID.dlv_done);
    expect(done).toMatchObject({ status: "delivered", attempts: 1, delivered_at: NOW - 110_000, lane: null, sequence: null });
    expect(await opened.deliveries.attempts(ID.dlv_retry)).toHaveLength(1);
    expect(await opened.deliveries.get(ID.dlv_retry)).toMatchObject({ status: "failed", attempts: 1, lane: null, sequence: null });

    // What `serve` does at start: the dead process's lease is released, the disabled endpoint's work expired.
    expect(await opened.deliveries.releaseAbandoned("node", clock.now())).toBe(1);
    const claimed = await opened.deliveries.claimDue({ now: clock.now(), total: 10, perEndpoint: 10, leaseMs: () => 60_000, owner: "node" });
    expect(claimed.map((d) => d.id).sort()).toEqual([ID.dlv_pending, ID.dlv_retry, ID.dlv_leased].sort());
    expect(claimed.every((d) => d.sequence === null && d.headers === null && d.timeout_ms === null)).toBe(true);
    expect(await opened.deliveries.get(ID.dlv_off)).toMatchObject({ status: "expired", last_error: "endpoint_disabled" });

    // The upgraded endpoint takes the new options, and new work follows them.
    await opened.webhooks.update(ID.wh_active, { ordering: "fifo", rate_limit: 1 }, clock.now());
    const first = await opened.events.insert(buildEvent("erp.order", "{}", "api", clock.now()));
    const second = await opened.events.insert(buildEvent("erp.order", "{}", "api", clock.now()));
    expect((await opened.deliveries.get(first.deliveryIds[0]!))?.sequence).toBe(1);
    expect((await opened.deliveries.get(second.deliveryIds[0]!))?.sequence).toBe(2);
    clock.advance(1);
    const next = await opened.deliveries.claimDue({ now: clock.now(), total: 10, perEndpoint: 10, leaseMs: () => 60_000, owner: "node" });
    expect(next.map((d) => [d.id, d.sequence])).toEqual([[first.deliveryIds[0]!, 1]]);
  });
});
