import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createOperationalEvents } from "../../src/alerts";
import { createRouter } from "../../src/delivery/fanout";
import { decideAttempt } from "../../src/delivery/outcome";
import { buildEvent } from "../../src/events/envelope";
import { newId } from "../../src/ids";
import { migrate, schemaVersion } from "../../src/storage/sqlite/migrate";
import { MIGRATIONS } from "../../src/storage/sqlite/migrations";
import { openDatabase } from "../../src/storage/sqlite/open";
import { openSqliteStorage } from "../../src/storage/sqlite/storage";
import type { Storage } from "../../src/storage/types";
import { FakeClock } from "../support/fake-clock";

const NOW = Date.UTC(2030, 0, 1, 12);
let dir = "";
let storage: Storage | null = null;
afterEach(async () => {
  await storage?.close();
  storage = null;
  rmSync(dir, { recursive: true, force: true });
});

describe("migration 011 (alerts)", () => {
  test("an endpoint already failing before the upgrade is reported once its count reaches failing_after", async () => {
    dir = mkdtempSync(join(tmpdir(), "hookd-011-"));
    const path = join(dir, "hookd.db");
    const db = openDatabase(path);
    migrate(db, NOW - 600_000, MIGRATIONS.filter((m) => m.version <= 10));
    const id = newId("wh");
    db.run(
      `INSERT INTO webhooks (id, url, events, description, status, secret, failure_count, last_failure_at, failing_since, created_at, updated_at)
       VALUES (?, 'https://chat.example/hook/SECRET', '["a.b"]', '', 'active', 'whsec_x', 5, ?, ?, ?, ?)`,
      [id, NOW - 1000, NOW - 60_000, NOW - 600_000, NOW - 600_000],
    );
    db.run("INSERT INTO delivery_queues (webhook_id, next_due_at, in_flight, served_at, ready_at) VALUES (?, NULL, 0, 0, NULL)", [id]);
    expect(schemaVersion(db)).toBe(10);
    db.close();

    const clock = new FakeClock(NOW);
    const alerts = createOperationalEvents({ failingAfter: 3, backlogAgeMs: 15 * 60_000 });
    const opened = openSqliteStorage(path, clock, { route: createRouter(), alerts });
    storage = opened;
    expect(opened.migrationsApplied).toContain(11);
    await opened.events.insert(buildEvent("a.b", "{}", "api", NOW));
    const [d] = await opened.deliveries.claimDue({ now: NOW, total: 10, perEndpoint: 10, leaseMs: () => 60_000, owner: "n" });
    const result = {
      attemptId: newId("att"), deliveryId: d!.id, webhookId: id, lease: d!.lease, attemptedAt: NOW, durationMs: 1, statusCode: 500,
      error: "HTTP 500", response: "", ok: false, nextAttemptAt: NOW + 60_000, gone: false,
    };
    await opened.deliveries.complete([result], (r, e) => decideAttempt(r, e, NOW, { disableAfterMs: 0 }), NOW);
    const [failing, ...more] = await opened.events.list({ limit: 10, type: "hookd.endpoint.failing" });
    expect(more).toEqual([]);
    expect(JSON.parse(failing!.body).data).toEqual({
      webhook_id: id, url: "https://chat.example", failure_count: 6, failing_since: new Date(NOW - 60_000).toISOString(), last_error: "HTTP 500",
    });
  });
});
