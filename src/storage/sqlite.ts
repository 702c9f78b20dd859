import type { Clock } from "../clock";
import { sqliteDeliveryStore } from "./delivery-store";
import { sqliteEventStore } from "./event-store";
import { GroupCommit } from "./group-commit";
import { sqliteIdempotencyStore } from "./idempotency-store";
import { sqliteInboundStore } from "./inbound-store";
import { sqliteMaintenanceStore } from "./maintenance-store";
import { migrate } from "./migrate";
import { openDatabase } from "./open";
import { sqliteResourceStore } from "./resource-store";
import type { EventOrigin, Storage } from "./types";
import { sqliteWebhookStore } from "./webhook-store";

/** StorageOptions: `onBatch` observes group-commit batch sizes (metrics); `onEnqueued` hears of newly due deliveries. */
export interface StorageOptions {
  onBatch?: (size: number) => void;
  onEnqueued?: () => void;
  /** busyTimeoutMs: how long a write waits for another process's lock before it is an outage (503). */
  busyTimeoutMs?: number;
  /** onEventStored hears of each event once it is durable (metrics). */
  onEventStored?: (origin: EventOrigin) => void;
}

/** openSqliteStorage opens the database, applies migrations and wires the stores over one connection. */
export function openSqliteStorage(path: string, clock: Clock, options: StorageOptions = {}): Storage & { migrationsApplied: number[] } {
  const db = openDatabase(path, options.busyTimeoutMs);
  const migrationsApplied = migrate(db, clock.now());
  const commits = new GroupCommit(db, 512, options.onBatch);
  const webhooks = sqliteWebhookStore(db);
  const onEnqueued = () => options.onEnqueued?.();
  const onEventStored = (origin: EventOrigin) => options.onEventStored?.(origin);
  const events = sqliteEventStore(db, commits, webhooks.active, onEnqueued, onEventStored);
  const probe = db.query("DELETE FROM schema_migrations WHERE 0");
  return {
    migrationsApplied,
    webhooks,
    events,
    resources: sqliteResourceStore(db, commits, events.fanOut, onEnqueued, onEventStored),
    deliveries: sqliteDeliveryStore(db, commits, webhooks.invalidate, onEnqueued),
    inbound: sqliteInboundStore(db, commits, events.fanOut, onEnqueued, onEventStored),
    idempotency: sqliteIdempotencyStore(db),
    maintenance: sqliteMaintenanceStore(db),
    checkWritable: () => {
      try {
        // BEGIN IMMEDIATE takes the write lock; a read-only, full or locked database fails here.
        db.transaction(() => probe.run()).immediate();
        return true;
      } catch {
        return false;
      }
    },
    close: () => {
      commits.flush();
      db.close();
    },
  };
}
