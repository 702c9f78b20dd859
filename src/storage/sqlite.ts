import type { Clock } from "../clock";
import { sqliteEventStore } from "./event-store";
import { sqliteIdempotencyStore } from "./idempotency-store";
import { migrate } from "./migrate";
import { openDatabase } from "./open";
import { sqliteResourceStore } from "./resource-store";
import type { Storage } from "./types";
import { sqliteWebhookStore } from "./webhook-store";

/** openSqliteStorage opens the database, applies migrations and wires the stores over one connection. */
export function openSqliteStorage(path: string, clock: Clock): Storage & { migrationsApplied: number[] } {
  const db = openDatabase(path);
  const migrationsApplied = migrate(db, clock.now());
  const events = sqliteEventStore(db);
  const probe = db.query("INSERT OR REPLACE INTO schema_migrations (version, name, applied_at) SELECT version, name, applied_at FROM schema_migrations WHERE 0");
  return {
    migrationsApplied,
    webhooks: sqliteWebhookStore(db),
    events,
    resources: sqliteResourceStore(db, events.insertEvent),
    idempotency: sqliteIdempotencyStore(db),
    checkWritable: () => {
      try {
        // A write transaction that changes nothing still has to take the write lock and touch the WAL.
        db.transaction(() => probe.run()).immediate();
        return true;
      } catch {
        return false;
      }
    },
    close: () => db.close(),
  };
}
