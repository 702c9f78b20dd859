import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRouter } from "../../src/delivery/fanout";
import { decideAttempt } from "../../src/delivery/outcome";
import { buildEvent } from "../../src/events/envelope";
import { newId } from "../../src/ids";
import { migrate, schemaVersion } from "../../src/storage/sqlite/migrate";
import { MIGRATIONS } from "../../src/storage/sqlite/migrations";
import { openDatabase } from "../../src/storage/sqlite/open";
import { openSqliteStorage } from "../../src/storage/sqlite/storage";
import { type ActiveEndpoint, type ClaimedDelivery, LANE_WAITING, type Storage } from "../../src/storage/types";
import { FakeClock } from "../support/fake-clock";

// A database as schema 9 (endpoint options and FIFO lanes, before routing) left it, written with that
// schema's SQL: an endpoint with options, a FIFO endpoint with a head and one waiting behind it, a lease
// a dead process held, and history. Opening it with this release must migrate it, keep every row as
// it was (no filter, transform or source anywhere) and hand out the pending work.

const NOW = Date.UTC(2030, 0, 1, 12);
const ID = {
  wh_plain: newId("wh"), wh_fifo: newId("wh"),
  dlv_pending: newId("dlv"), dlv_leased: newId("dlv"), dlv_done: newId("dlv"), dlv_head: newId("dlv"), dlv_next: newId("dlv"),
} as const;
const LEASE = () => 60_000;
let dir = "";
let storage: Storage | null = null;
afterEach(async () => {
  await storage?.close();
  storage = null;
  rmSync(dir, { recursive: true, force: true });
});

function schema9Database(path: string): void {
  const db = openDatabase(path);
  migrate(db, NOW - 600_000, MIGRATIONS.filter((m) => m.version <= 9));
  const webhook = db.query(
    `INSERT INTO webhooks (id, url, events, description, status, secret, failure_count, created_at, updated_at,
       headers, timeout_ms, rate_limit, ordering, ordering_key, client_tls, oauth2)
     VALUES (?, ?, '["*"]', 'old', 'active', 'whsec_x', 0, ?, ?, ?, ?, ?, ?, NULL, ?, NULL)`,
  );
  webhook.run(ID.wh_plain, "https://hooks.example/a", NOW - 600_000, NOW - 600_000, `{"X-Tenant":"acme"}`, 5_000, 100, "none", "tls-a");
  webhook.run(ID.wh_fifo, "https://hooks.example/f", NOW - 600_000, NOW - 600_000, null, null, null, "fifo", null);
  const event = db.query("INSERT INTO events (id, type, origin, body, created_at) VALUES (?, 'erp.order', ?, ?, ?)");
  for (const id of ["evt_1", "evt_2", "evt_3", "evt_4", "evt_5"]) event.run(id, id === "evt_2" ? "inbound" : "api", `{"id":"${id}","data":{}}`, NOW - 120_000);
  const delivery = db.query(
    `INSERT INTO deliveries (id, event_id, webhook_id, event_type, status, attempts, schedule_attempts, next_attempt_at, lease_until,
       lease_owner, last_status_code, created_at, updated_at, delivered_at, lane, sequence)
     VALUES (?, ?, ?, 'erp.order', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const t = NOW - 120_000;
  delivery.run(ID.dlv_pending, "evt_1", ID.wh_plain, "pending", 0, 0, t, null, null, null, t, t, null, null, null);
  delivery.run(ID.dlv_leased, "evt_2", ID.wh_plain, "pending", 0, 0, NOW + 50_000, NOW + 50_000, "old-node 1", null, t, t, null, null, null);
  delivery.run(ID.dlv_done, "evt_3", ID.wh_plain, "delivered", 1, 1, null, null, null, 200, t, t + 10_000, t + 10_000, null, null);
  delivery.run(ID.dlv_head, "evt_4", ID.wh_fifo, "pending", 0, 0, t, null, null, null, t, t, null, "", 1);
  delivery.run(ID.dlv_next, "evt_5", ID.wh_fifo, "pending", 0, 0, LANE_WAITING, null, null, null, t, t, null, "", 2);
  db.run("INSERT INTO attempts (id, delivery_id, attempted_at, status_code, duration_ms, error, response) VALUES (?, ?, ?, 200, 5, NULL, '')", [
    newId("att"), ID.dlv_done, t + 10_000,
  ]);
  db.run("INSERT INTO delivery_lanes (webhook_id, lane, next_sequence, active_id, updated_at) VALUES (?, '', 3, ?, ?)", [ID.wh_fifo, ID.dlv_head, t]);
  const queue = db.query("INSERT INTO delivery_queues (webhook_id, next_due_at, in_flight, served_at, ready_at) VALUES (?, ?, ?, 0, ?)");
  queue.run(ID.wh_plain, t, 1, t);
  queue.run(ID.wh_fifo, t, 0, t);
  expect(schemaVersion(db)).toBe(9);
  db.close();
}

describe("migration 010 (routing: filter, transform, content_type, event source)", () => {
  test("keeps a schema-9 database's endpoints, lanes, work and history, and its pending work is delivered", async () => {
    dir = mkdtempSync(join(tmpdir(), "hookd-010-"));
    const path = join(dir, "hookd.db");
    schema9Database(path);
    const clock = new FakeClock(NOW);
    const opened = openSqliteStorage(path, clock, { route: createRouter() });
    storage = opened;
    expect(opened.migrationsApplied[0]).toBe(10);

    const none = { filter: null, transform: null, content_type: null };
    expect(await opened.webhooks.get(ID.wh_plain)).toMatchObject({
      ...none, headers: { "X-Tenant": "acme" }, timeout_ms: 5_000, rate_limit: 100, ordering: "none", client_tls: "tls-a", description: "old",
    });
    expect(await opened.webhooks.get(ID.wh_fifo)).toMatchObject({ ...none, ordering: "fifo", headers: null });
    const endpoints: ActiveEndpoint[] = [
      { id: ID.wh_plain, events: ["*"], ordering: "none", ordering_key: null, filter: null },
      { id: ID.wh_fifo, events: ["*"], ordering: "fifo", ordering_key: null, filter: null },
    ];
    expect(await opened.webhooks.active()).toEqual(endpoints.sort((a, b) => (a.id < b.id ? -1 : 1)));
    expect(await opened.events.get("evt_2")).toEqual({
      id: "evt_2", type: "erp.order", origin: "inbound", body: `{"id":"evt_2","data":{}}`, created_at: NOW - 120_000, source: null,
    });
    expect(await opened.deliveries.get(ID.dlv_done)).toMatchObject({ status: "delivered", attempts: 1, delivered_at: NOW - 110_000 });
    expect(await opened.deliveries.attempts(ID.dlv_done)).toHaveLength(1);
    expect(await opened.deliveries.get(ID.dlv_next)).toMatchObject({ status: "pending", lane: "", sequence: 2 });

    // What `serve` does at start: the dead process's lease is released; then everything due is claimed and delivered.
    expect(await opened.deliveries.releaseAbandoned("node", clock.now())).toBe(1);
    const claimed = await opened.deliveries.claimDue({ now: clock.now(), total: 10, perEndpoint: 10, leaseMs: LEASE, owner: "node" });
    expect(claimed.map((d) => d.id).sort()).toEqual([ID.dlv_pending, ID.dlv_leased, ID.dlv_head].sort());
    expect(claimed.every((d) => d.transform === null && d.content_type === null && d.source === null)).toBe(true);
    expect(claimed.find((d) => d.id === ID.dlv_head)?.sequence).toBe(1);
    await deliver(opened, clock, claimed);
    clock.advance(1);
    const next = await opened.deliveries.claimDue({ now: clock.now(), total: 10, perEndpoint: 10, leaseMs: LEASE, owner: "node" });
    expect(next.map((d) => [d.id, d.sequence])).toEqual([[ID.dlv_next, 2]]);
    await deliver(opened, clock, next);
    for (const id of [ID.dlv_pending, ID.dlv_leased, ID.dlv_head, ID.dlv_next]) {
      expect(await opened.deliveries.get(id)).toMatchObject({ status: "delivered", attempts: 1 });
    }

    // The upgraded endpoint takes the routing options, and new work carries them and the event's source.
    await opened.webhooks.update(ID.wh_plain, { transform: `{"text": data.m}`, content_type: "text/plain" }, clock.now());
    await opened.webhooks.update(ID.wh_fifo, { filter: `{"source":"erp"}` }, clock.now());
    expect((await opened.webhooks.active()).find((w) => w.id === ID.wh_fifo)?.filter).toBe(`{"source":"erp"}`);
    const fresh = buildEvent("erp.order", `{"m":"hi"}`, "inbound", clock.now(), "erp");
    await opened.events.insert(fresh);
    expect(await opened.events.get(fresh.id)).toEqual(fresh);
    const routed = await opened.deliveries.claimDue({ now: clock.now(), total: 10, perEndpoint: 10, leaseMs: LEASE, owner: "node" });
    expect(routed.find((d) => d.webhook_id === ID.wh_plain)).toMatchObject({
      event_id: fresh.id, transform: `{"text": data.m}`, content_type: "text/plain", source: "erp",
    });
  });
});

async function deliver(s: Storage, clock: FakeClock, claimed: readonly ClaimedDelivery[]): Promise<void> {
  const results = claimed.map((d) => ({
    attemptId: newId("att"), deliveryId: d.id, webhookId: d.webhook_id, lease: d.lease, attemptedAt: clock.now(), durationMs: 5,
    statusCode: 200, error: null, response: "", ok: true, nextAttemptAt: null, gone: false,
  }));
  await s.deliveries.complete(results, (r, e) => decideAttempt(r, e, clock.now(), { disableAfterMs: 0 }), clock.now());
}
