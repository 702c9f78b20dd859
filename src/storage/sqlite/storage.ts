import type { Clock } from "../../clock";
import { BodyCache } from "./body-cache";
import { sqliteDeliveryStore } from "./delivery-store";
import { sqliteEventStore } from "./event-store";
import { GroupCommit } from "./group-commit";
import { sqliteIdempotencyStore } from "./idempotency-store";
import { sqliteInboundStore } from "./inbound-store";
import { sqliteMaintenanceStore } from "./maintenance-store";
import { migrate, requireCurrentSchema } from "./migrate";
import { openDatabase } from "./open";
import { sqliteResourceStore } from "./resource-store";
import type { EventOrigin, Storage } from "../types";
import { sqliteWebhookStore } from "./webhook-store";

// Longest the event loop may block on another process's write lock for a single statement.
const SYNC_BUSY_MS = 250;

/** StorageOptions: `onBatch` observes group-commit batch sizes (metrics); `onEnqueued` hears of newly due deliveries. */
export interface StorageOptions {
  onBatch?: (size: number) => void;
  onEnqueued?: () => void;
  /** busyTimeoutMs: how long a write waits for another process's lock before it is an outage (503). */
  busyTimeoutMs?: number;
  /** blockingBusyMs: how long one synchronous statement may wait; commands without an event loop to protect raise it. */
  blockingBusyMs?: number;
  /** groupCommitMaxBatch caps writes per commit; 1 turns group commit off (benchmarks compare the two). */
  groupCommitMaxBatch?: number;
  /**
   * besideServer: for commands that run next to a `serve` (backup, cleanup): the database must already
   * exist and have this binary's schema; nothing is created or migrated.
   */
  besideServer?: boolean;
  /** onEventStored hears of each event once it is durable (metrics). */
  onEventStored?: (origin: EventOrigin) => void;
}

/** openSqliteStorage opens the database, applies migrations and wires the stores over one connection. */
export function openSqliteStorage(path: string, clock: Clock, options: StorageOptions = {}): Storage & { migrationsApplied: number[] } {
  const busyMs = options.busyTimeoutMs ?? 5000;
  // The connection itself waits only briefly (a synchronous wait freezes the event loop); batched
  // writes keep retrying asynchronously up to busyMs.
  const db = openDatabase(path, Math.min(busyMs, options.blockingBusyMs ?? SYNC_BUSY_MS), !options.besideServer);
  let migrationsApplied: number[] = [];
  try {
    if (options.besideServer) requireCurrentSchema(db);
    else migrationsApplied = migrate(db, clock.now());
  } catch (error) {
    db.close();
    throw error;
  }
  const commits = new GroupCommit(db, options.groupCommitMaxBatch ?? 512, options.onBatch, busyMs);
  const webhooks = sqliteWebhookStore(db);
  const onEnqueued = () => options.onEnqueued?.();
  const onEventStored = (origin: EventOrigin) => options.onEventStored?.(origin);
  const bodies = new BodyCache();
  const events = sqliteEventStore(db, commits, webhooks.active, onEnqueued, onEventStored, bodies);
  const probe = db.query("DELETE FROM schema_migrations WHERE 0");
  return {
    migrationsApplied,
    webhooks,
    events,
    resources: sqliteResourceStore(db, commits, events.fanOut, onEnqueued, onEventStored),
    deliveries: sqliteDeliveryStore(db, commits, webhooks.invalidate, onEnqueued, bodies),
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
      commits.flush(true);
      db.close();
    },
  };
}
